//! What a long `check` has done so far, for a person at a terminal: the
//! harness counts migrations applied and checks finished; the CLI shows the
//! counts on one line of stderr, redrawn by indicatif's own thread (nothing
//! on the runtime), cleared at the end. Nothing is shown when stderr is
//! not a terminal.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Counts the harness keeps as it works.
#[derive(Debug, Default)]
pub struct Counters {
    /// Migrations applied to build templates.
    pub applied: AtomicUsize,
    /// Per-migration checks finished.
    pub checked: AtomicUsize,
    /// Property files finished.
    pub files: AtomicUsize,
}

impl Counters {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The line on stderr while a check runs.
pub struct Display {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Display {
    /// Starts redrawing `counters` (`migrations` in the chain) on stderr.
    pub fn start(counters: Arc<Counters>, migrations: usize) -> Display {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(120));
            while !flag.load(Ordering::Relaxed) {
                bar.set_message(format!(
                    "applied {}/{migrations} migrations, {} checks done, {} property files done",
                    counters.applied.load(Ordering::Relaxed).min(migrations),
                    counters.checked.load(Ordering::Relaxed),
                    counters.files.load(Ordering::Relaxed),
                ));
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        Display {
            stop,
            thread: Some(thread),
        }
    }

    /// Clears the line.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.stop();
    }
}
