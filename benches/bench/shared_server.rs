//! What the bench leaves of the shared local servers it makes (row 1p's
//! `Server::attach_shared_local`, row 8's test processes): each keeps its
//! state in `<cache>/shared-<key>/` (`lease`, `start.lock`, `state`: run
//! dir, port, password) and stops itself a few seconds after the last lease
//! ends (its watchdog). Nothing removes the state dir, and removing it while
//! the watchdog runs would keep the server up for good (the watchdog's
//! `flock` on the lease file then fails, which it takes for a lease held),
//! so the bench waits for the server to stop, stops it itself if the
//! watchdog did not, and only then removes the dir.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where pgharness keeps its cache (the initdb cluster, shared servers'
/// state) for a process with this environment: the rule of
/// `server::local::cache_root` (private there).
pub fn cache_root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PGHARNESS_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("pgharness"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("pgharness"))
}

/// The run dir the shared server whose state is in `dir` runs in (or ran
/// in last), from `state`'s first line.
pub fn run_dir(dir: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(dir.join("state")).ok()?;
    text.lines().next().map(PathBuf::from)
}

/// How a shared server ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Never started (no state), or already gone when asked.
    Gone,
    /// Its watchdog stopped it, this long after the call.
    Stopped(Duration),
    /// Still up after the wait: its postmaster was stopped by pid.
    Forced,
    /// Still up, and it could not be stopped.
    Running,
}

/// Waits up to `wait` for the shared server whose state is in `dir` to
/// stop; stops its postmaster (by the pid in its `postmaster.pid`, after
/// checking that it is a postgres of that data dir) if it has not.
/// Blocking.
pub fn wait_stopped(dir: &Path, wait: Duration) -> Ended {
    let Some(run) = run_dir(dir) else {
        return Ended::Gone;
    };
    if !run.exists() {
        return Ended::Gone;
    }
    let started = Instant::now();
    while started.elapsed() < wait {
        if !run.exists() {
            return Ended::Stopped(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let data = run.join("data");
    let pid = std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()
        .and_then(|text| text.lines().next()?.trim().parse::<libc::pid_t>().ok());
    let Some(pid) = pid else {
        return if run.exists() {
            Ended::Running
        } else {
            Ended::Stopped(started.elapsed())
        };
    };
    let ours = std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
        let text = String::from_utf8_lossy(&cmdline);
        text.contains("postgres") && text.contains(&*data.to_string_lossy())
    });
    if !ours {
        return Ended::Running;
    }
    // SAFETY: kill(2) on the pid of the postmaster this bench started
    // (checked above). SIGINT is its fast shutdown.
    unsafe { libc::kill(pid, libc::SIGINT) };
    // The watchdog notices the postmaster is gone within a second and
    // removes the run dir.
    let stopping = Instant::now();
    while stopping.elapsed() < Duration::from_secs(10) {
        if !run.exists() {
            return Ended::Forced;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ended::Running
}

/// [`wait_stopped`], then removes `dir` (with `remove` also `remove`, a
/// dir that holds it) unless the server still runs. Says on stderr what
/// happened. Blocking.
pub fn retire(what: &str, dir: &Path, remove: Option<&Path>, wait: Duration) -> Ended {
    let ended = wait_stopped(dir, wait);
    match ended {
        Ended::Gone => {}
        Ended::Stopped(after) => crate::progress(&format!(
            "{what}: the shared server stopped by itself {:.1} s later",
            after.as_secs_f64()
        )),
        Ended::Forced => crate::progress(&format!(
            "{what}: the shared server was still up {} s later; stopped it",
            wait.as_secs()
        )),
        Ended::Running => {
            crate::progress(&format!(
                "{what}: the shared server in {} is still up and could not be stopped; left {} in place",
                run_dir(dir).unwrap_or_default().display(),
                dir.display()
            ));
            return ended;
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    if let Some(outer) = remove {
        let _ = std::fs::remove_dir_all(outer);
    }
    ended
}
