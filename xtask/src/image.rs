//! `cargo xtask image [--pg 15|17|18]`: builds `pgharness/postgres:<major>-debian`
//! without a registry (default major 15: `pgharness/postgres:15-debian`).
//!
//! No container registry is needed: the image is assembled from Debian packages,
//! PostgreSQL 15 from bookworm, 17 from trixie, 18 from forky (see [`FLAVORS`]).
//! `--pg 15,17,18` builds several, each in turn, every one as follows:
//!
//! 1. `docker image inspect`: if the image exists (and no `--force`), stop.
//! 2. Unless the rootfs tarball is cached (`target/pgharness-image/rootfs-<suite>-pg<major>.tar`,
//!    e.g. `rootfs-bookworm-pg15.tar`):
//!    install `debootstrap` if needed (root only), pick a reachable Debian mirror
//!    (`PGHARNESS_DEBIAN_MIRROR`, else the host's apt sources, else deb.debian.org),
//!    `debootstrap --variant=minbase --include=postgresql-<major>,...` (with the `sid`
//!    script for a suite the host's debootstrap has no script for), customize and trim
//!    the rootfs, `tar` it to a temp name and rename it into place.
//! 3. Copy the tarball, append `/usr/local/bin/docker-entrypoint.sh` (the embedded
//!    `xtask/image/docker-entrypoint.sh`, so editing the script only needs `--force`,
//!    not a new debootstrap) and `docker import` it with the official image's config.
//! 4. Smoke check: start a container the way testcontainers-modules does, wait for the
//!    readiness lines, run `select version()` over TCP with the password, remove it.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Repository of the images this command produces; the tag is `<major>-debian`.
const IMAGE_REPO: &str = "pgharness/postgres";
/// One image this command builds: Debian's own `postgresql-<major>` from one suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Flavor {
    major: &'static str,
    suite: &'static str,
}

/// The majors `--pg` accepts, each from the Debian suite that ships it.
const FLAVORS: &[Flavor] = &[
    Flavor {
        major: "15",
        suite: "bookworm",
    },
    Flavor {
        major: "17",
        suite: "trixie",
    },
    Flavor {
        major: "18",
        suite: "forky",
    },
];
/// What `cargo xtask image` builds without `--pg` (CI relies on its tag and cache name).
const DEFAULT_MAJOR: &str = "15";
/// debootstrap script used for a suite the host's debootstrap has no script of its own for
/// (bookworm's debootstrap knows trixie, as a link to `sid`, but not forky).
const FALLBACK_SCRIPT: &str = "sid";
/// Extra packages on top of minbase (besides `postgresql-<major>`). libnss-wrapper lets
/// `docker run --user <uid>` work (as upstream).
const INCLUDE_EXTRA: &[&str] = &["libnss-wrapper"];
const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";
const MIRROR_ENV: &str = "PGHARNESS_DEBIAN_MIRROR";
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
/// Where `locales` puts the alias file, in the order tried (`/etc` only from forky on).
const LOCALE_ALIAS: &[&str] = &["/usr/share/locale/locale.alias", "/etc/locale.alias"];
const ENTRYPOINT_SH: &str = include_str!("../image/docker-entrypoint.sh");
const ENTRYPOINT_PATH: &str = "usr/local/bin/docker-entrypoint.sh";
const PGDATA: &str = "/var/lib/postgresql/data";
/// PATH of the image: PostgreSQL's binaries first (before Debian's perl pg_wrapper in /usr/bin).
const BASE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// What testcontainers-modules' `postgres` module waits for (once on stdout: the
/// temporary init server started by `pg_ctl`; once on stderr: the final server).
pub const READY_LINE: &str = "database system is ready to accept connections";
/// As in the official image: SIGINT = PostgreSQL "fast" shutdown on `docker stop`.
const STOPSIGNAL: &str = "STOPSIGNAL SIGINT";
const SMOKE_LABEL: &str = "pgharness.xtask=smoke";
const SMOKE_TIMEOUT: Duration = Duration::from_secs(90);

impl Flavor {
    fn for_major(major: &str) -> Result<Self> {
        FLAVORS
            .iter()
            .copied()
            .find(|f| f.major == major)
            .ok_or_else(|| {
                let known: Vec<String> = FLAVORS
                    .iter()
                    .map(|f| format!("{} ({})", f.major, f.suite))
                    .collect();
                anyhow!(
                    "unsupported PostgreSQL major `{major}` for --pg (supported: {})",
                    known.join(", ")
                )
            })
    }

    /// `pgharness/postgres:<major>-debian`.
    fn image(&self) -> String {
        format!("{IMAGE_REPO}:{}-debian", self.major)
    }

    /// Cached rootfs, one per suite and major: `rootfs-<suite>-pg<major>.tar`.
    fn tarball(&self) -> String {
        format!("rootfs-{}-pg{}.tar", self.suite, self.major)
    }

    /// Where Debian puts the server's binaries (first on the image's PATH).
    fn pg_bin(&self) -> String {
        format!("/usr/lib/postgresql/{}/bin", self.major)
    }

    /// Packages on top of minbase.
    fn include(&self) -> Vec<String> {
        std::iter::once(format!("postgresql-{}", self.major))
            .chain(INCLUDE_EXTRA.iter().map(|p| p.to_string()))
            .collect()
    }
}

struct Options {
    force: bool,
    rebuild: bool,
    smoke: bool,
    /// In the order given, without repeats; `[15]` unless `--pg` says otherwise.
    flavors: Vec<Flavor>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Option<Self>> {
        let mut opts = Options {
            force: false,
            rebuild: false,
            smoke: true,
            flavors: Vec::new(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let pg = match arg.as_str() {
                "--pg" => Some(
                    args.next()
                        .ok_or_else(|| {
                            anyhow!("--pg needs a value, e.g. --pg 17 or --pg 15,17,18")
                        })?
                        .as_str(),
                ),
                a => a.strip_prefix("--pg="),
            };
            if let Some(list) = pg {
                for major in list.split(',').map(str::trim).filter(|m| !m.is_empty()) {
                    let flavor = Flavor::for_major(major)?;
                    if !opts.flavors.contains(&flavor) {
                        opts.flavors.push(flavor);
                    }
                }
                if opts.flavors.is_empty() {
                    bail!("--pg needs a value, e.g. --pg 17 or --pg 15,17,18");
                }
                continue;
            }
            match arg.as_str() {
                "--force" | "-f" => opts.force = true,
                "--rebuild" => {
                    opts.rebuild = true;
                    opts.force = true;
                }
                "--no-smoke" => opts.smoke = false,
                "--help" | "-h" => {
                    let majors: Vec<String> = FLAVORS
                        .iter()
                        .map(|f| format!("{} (Debian {})", f.major, f.suite))
                        .collect();
                    println!(
                        "usage: cargo xtask image [--pg MAJOR[,MAJOR...]] [--force] [--rebuild] [--no-smoke]\n\
                         \n\
                         Builds {IMAGE_REPO}:<major>-debian from Debian packages (debootstrap + docker import; no registry).\n\
                         \n\
                         \x20 --pg MAJORS  PostgreSQL major(s) to build, comma-separated or repeated, built in turn\n\
                         \x20              (default {DEFAULT_MAJOR}): {}\n\
                         \x20 --force      re-import even if the image exists (reuses the cached rootfs tarball)\n\
                         \x20 --rebuild    discard the cached rootfs tarball and debootstrap again (implies --force)\n\
                         \x20 --no-smoke   skip the post-import container smoke check\n\
                         \n\
                         env: {MIRROR_ENV}=http://host/debian  Debian mirror for debootstrap\n\
                         \x20    CARGO_TARGET_DIR                 cache lives in $CARGO_TARGET_DIR/pgharness-image\n\
                         \x20                                     (rootfs-<suite>-pg<major>.tar per major)",
                        majors.join(", ")
                    );
                    return Ok(None);
                }
                other => bail!("unknown option `{other}` for `cargo xtask image` (try --help)"),
            }
        }
        if opts.flavors.is_empty() {
            opts.flavors.push(Flavor::for_major(DEFAULT_MAJOR)?);
        }
        Ok(Some(opts))
    }
}

pub fn run(args: &[String]) -> Result<()> {
    let Some(opts) = Options::parse(args)? else {
        return Ok(());
    };
    if let [flavor] = opts.flavors.as_slice() {
        // One major (the default): output exactly as it has always been.
        return build_image(*flavor, &opts);
    }
    let total = Instant::now();
    for (i, flavor) in opts.flavors.iter().enumerate() {
        println!(
            "\n=== [{}/{}] {}: PostgreSQL {} from Debian {}",
            i + 1,
            opts.flavors.len(),
            flavor.image(),
            flavor.major,
            flavor.suite
        );
        build_image(*flavor, &opts).with_context(|| format!("building {}", flavor.image()))?;
    }
    let images: Vec<String> = opts.flavors.iter().map(Flavor::image).collect();
    println!(
        "\nall done in {}: {}",
        secs(total.elapsed()),
        images.join(", ")
    );
    Ok(())
}

/// Steps 1-4 of the module doc for one major.
fn build_image(flavor: Flavor, opts: &Options) -> Result<()> {
    let total = Instant::now();
    let image = flavor.image();
    let image = image.as_str();

    let existing = image_id(image)?;
    if let (Some(id), false) = (&existing, opts.force) {
        println!(
            "{image} already exists ({}); nothing to do (--force re-imports it)",
            short_id(id)
        );
        return Ok(());
    }

    let dir = target_dir().join("pgharness-image");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let _lock = lock_dir(&dir)?;

    let tarball = dir.join(flavor.tarball());
    if tarball.exists() && !opts.rebuild {
        println!(
            "using cached rootfs {} ({})",
            tarball.display(),
            human_size(file_size(&tarball))
        );
    } else {
        // With --rebuild the old tarball stays until the new one is renamed over it.
        build_rootfs_tarball(flavor, &dir, &tarball)?;
    }

    let id = step("import image", || import(flavor, &dir, &tarball))?;
    if let Some(old) = existing.filter(|old| *old != id) {
        // The tag moved to the new image; drop the now-dangling old one (best effort:
        // it may still be used by a container).
        if let Err(e) = docker_out(&["image", "rm", &old]) {
            println!("    note: previous image {} kept: {e}", short_id(&old));
        }
    }
    let size = docker_out(&["image", "inspect", "--format", "{{.Size}}", image])?;
    let size = size.trim().parse::<u64>().map(human_size).unwrap_or(size);
    println!("imported {image} ({}, {size})", short_id(&id));

    if opts.smoke {
        step("smoke check", || smoke_check(flavor))?;
    }
    println!("done in {}", secs(total.elapsed()));
    Ok(())
}

// ---------------------------------------------------------------------------
// rootfs

fn build_rootfs_tarball(flavor: Flavor, dir: &Path, tarball: &Path) -> Result<()> {
    if !is_root() {
        bail!(
            "{} is missing and building it needs root (debootstrap): run `cargo xtask image` once as root",
            tarball.display()
        );
    }
    step("ensure debootstrap", ensure_debootstrap)?;
    let mirror = step("pick Debian mirror", || pick_mirror(flavor.suite))?;
    println!("    mirror: {} ({})", mirror.url, mirror.source);

    let build = dir.join("rootfs-build");
    clean_build_dir(&build)?;
    let guard = BuildDirGuard(build.clone());

    let log = dir.join(format!(
        "debootstrap-{}-pg{}.log",
        flavor.suite, flavor.major
    ));
    step("debootstrap", || debootstrap(flavor, &mirror, &build, &log))?;
    step("customize rootfs", || customize(flavor, &build))?;
    step("trim rootfs", || trim(&build))?;
    step("tar rootfs", || {
        let tmp = dir.join(format!("{}.tmp-{}", flavor.tarball(), std::process::id()));
        let tmp_guard = RemoveOnDrop(tmp.clone());
        run_cmd(
            Command::new("tar")
                .arg("--create")
                .arg("--file")
                .arg(&tmp)
                .args(["--numeric-owner", "--xattrs", "--sort=name"])
                .args([
                    "--exclude=./dev/*",
                    "--exclude=./proc/*",
                    "--exclude=./sys/*",
                ])
                .arg("--directory")
                .arg(&build)
                .arg("."),
        )?;
        fs::rename(&tmp, tarball)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), tarball.display()))?;
        std::mem::forget(tmp_guard);
        println!(
            "    {} ({})",
            tarball.display(),
            human_size(file_size(tarball))
        );
        Ok(())
    })?;
    drop(guard); // removes the debootstrap dir
    Ok(())
}

fn ensure_debootstrap() -> Result<()> {
    if let Some(path) = find_program("debootstrap") {
        println!("    found {}", path.display());
        return Ok(());
    }
    if !is_root() {
        bail!("debootstrap is not installed and we are not root: run `apt-get install debootstrap` as root");
    }
    println!("    debootstrap missing: apt-get install -y debootstrap");
    let install = || {
        run_cmd(
            Command::new("apt-get")
                .args(["install", "-y", "debootstrap"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    if install().is_err() {
        // Typically stale or missing package lists.
        run_cmd(
            Command::new("apt-get")
                .arg("update")
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        install()?;
    }
    find_program("debootstrap").map(|_| ()).ok_or_else(|| {
        anyhow!("apt-get installed debootstrap but it is not on PATH or in /usr/sbin")
    })
}

struct Mirror {
    url: String,
    source: String,
    /// HTTP proxy from apt's configuration, passed on to debootstrap as `http_proxy`.
    proxy: Option<String>,
}

fn pick_mirror(suite: &str) -> Result<Mirror> {
    let proxy = env_nonempty("http_proxy")
        .or_else(|| env_nonempty("HTTP_PROXY"))
        .or_else(apt_http_proxy);
    let mut candidates: Vec<(String, String)> = match env_nonempty(MIRROR_ENV) {
        // An explicit mirror is the only candidate (still probed, for a clear error).
        Some(url) => vec![(
            url.trim_end_matches('/').to_string(),
            MIRROR_ENV.to_string(),
        )],
        None => {
            let mut c = host_debian_mirrors(suite);
            c.push((DEFAULT_MIRROR.to_string(), "default".to_string()));
            c
        }
    };
    let mut seen = HashSet::new();
    candidates.retain(|(url, _)| seen.insert(url.clone()));

    let mut failures = Vec::new();
    for (url, source) in candidates {
        match probe_mirror(&url, suite, proxy.as_deref()) {
            Ok(()) => {
                return Ok(Mirror { url, source, proxy });
            }
            Err(e) => failures.push(format!("{url}: {e:#}")),
        }
    }
    bail!(
        "no reachable Debian mirror with dists/{suite} ({}); set {MIRROR_ENV}=http://<mirror>/debian",
        failures.join("; ")
    )
}

/// Debian mirrors from the host's apt sources (one-line and deb822 formats),
/// best first: those already serving `suite`, then other Debian suites.
fn host_debian_mirrors(suite: &str) -> Vec<(String, String)> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(rd) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut extra: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("list" | "sources")
                )
            })
            .collect();
        extra.sort();
        files.extend(extra);
    }

    // (uri, suites, components, file)
    let mut entries: Vec<(String, Vec<String>, Vec<String>, String)> = Vec::new();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let name = file.display().to_string();
        if file.extension().and_then(|e| e.to_str()) == Some("sources") {
            for stanza in parse_deb822(&text) {
                let get = |k: &str| {
                    stanza
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(k))
                        .map(|(_, v)| v.split_whitespace().map(String::from).collect::<Vec<_>>())
                        .unwrap_or_default()
                };
                if get("Enabled").first().map(|s| s.as_str()) == Some("no")
                    || !get("Types").iter().any(|t| t == "deb")
                {
                    continue;
                }
                for uri in get("URIs") {
                    entries.push((uri, get("Suites"), get("Components"), name.clone()));
                }
            }
        } else {
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or("").trim();
                let Some(rest) = line
                    .strip_prefix("deb ")
                    .or_else(|| line.strip_prefix("deb\t"))
                else {
                    continue;
                };
                let mut rest = rest.trim_start();
                if rest.starts_with('[') {
                    match rest.find(']') {
                        Some(end) => rest = rest[end + 1..].trim_start(),
                        None => continue,
                    }
                }
                let mut words = rest.split_whitespace().map(String::from);
                let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
                    continue;
                };
                entries.push((uri, vec![suite], words.collect(), name.clone()));
            }
        }
    }

    const DEBIAN_SUITES: &[&str] = &[
        "bookworm",
        "trixie",
        "forky",
        "bullseye",
        "buster",
        "sid",
        "stable",
        "testing",
        "unstable",
        "oldstable",
    ];
    let mut exact = Vec::new();
    let mut other = Vec::new();
    for (uri, suites, comps, file) in entries {
        let uri = uri.trim_end_matches('/').to_string();
        if !(uri.starts_with("http://") || uri.starts_with("https://") || uri.starts_with("file:"))
            || uri.contains("security")
            || !comps.iter().any(|c| c == "main")
        {
            continue;
        }
        let base = |s: &str| s.split('-').next().unwrap_or("").to_string();
        if suites.iter().any(|s| s == suite) {
            exact.push((uri, file));
        } else if suites
            .iter()
            .any(|s| !s.ends_with("-security") && DEBIAN_SUITES.contains(&base(s).as_str()))
        {
            other.push((uri, file));
        }
    }
    exact.extend(other);
    exact
}

fn parse_deb822(text: &str) -> Vec<Vec<(String, String)>> {
    let mut stanzas = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                stanzas.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = cur.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if !cur.is_empty() {
        stanzas.push(cur);
    }
    stanzas
}

/// Checks that `<mirror>/dists/<suite>/Release` is reachable.
fn probe_mirror(mirror: &str, suite: &str, proxy: Option<&str>) -> Result<()> {
    let url = format!("{mirror}/dists/{suite}/Release");
    if let Some(path) = url.strip_prefix("file://") {
        return if Path::new(path).is_file() {
            Ok(())
        } else {
            Err(anyhow!("{path} does not exist"))
        };
    }
    if url.starts_with("https://") {
        // No TLS in std: use curl when available, otherwise let debootstrap try.
        if find_program("curl").is_none() {
            return Ok(());
        }
        return run_cmd(Command::new("curl").args(["-fsSI", "--max-time", "10", &url])).map(|_| ());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("unsupported URI scheme");
    };
    let (hostport, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (connect_to, request_target) = match proxy.and_then(|p| p.strip_prefix("http://")) {
        Some(p) => (p.trim_end_matches('/').to_string(), url.clone()),
        None => (hostport.to_string(), path.to_string()),
    };
    let connect_to = if connect_to.contains(':') {
        connect_to
    } else {
        format!("{connect_to}:80")
    };
    let addr = connect_to
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {connect_to}"))?
        .next()
        .ok_or_else(|| anyhow!("{connect_to} has no address"))?;
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("cannot connect to {connect_to}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "HEAD {request_target} HTTP/1.1\r\nHost: {hostport}\r\nUser-Agent: pgharness-xtask\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf)?;
    let head = String::from_utf8_lossy(&buf[..n]);
    let status_line = head.lines().next().unwrap_or("").to_string();
    let code = status_line.split_whitespace().nth(1).unwrap_or("");
    if code.starts_with('2') || code.starts_with('3') {
        Ok(())
    } else {
        Err(anyhow!("HTTP `{status_line}`"))
    }
}

fn apt_http_proxy() -> Option<String> {
    let out = Command::new("apt-config")
        .args(["shell", "P", "Acquire::http::Proxy"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let value = text
        .trim()
        .strip_prefix("P=")?
        .trim_matches('\'')
        .to_string();
    (!value.is_empty() && value != "DIRECT" && value != "false").then_some(value)
}

/// The debootstrap script argument for `suite`: `None` when the host's debootstrap has a
/// script of that name, else [`FALLBACK_SCRIPT`] (every Debian suite since bookworm is
/// bootstrapped like sid; debootstrap reads the codename from the Release file).
fn debootstrap_script(suite: &str) -> Result<Option<&'static str>> {
    let share = std::env::var_os("DEBOOTSTRAP_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/debootstrap"));
    let scripts = share.join("scripts");
    if scripts.join(suite).exists() {
        return Ok(None);
    }
    if scripts.join(FALLBACK_SCRIPT).exists() {
        return Ok(Some(FALLBACK_SCRIPT));
    }
    bail!(
        "this debootstrap has neither a `{suite}` nor a `{FALLBACK_SCRIPT}` script in {}: install a newer debootstrap",
        scripts.display()
    )
}

fn debootstrap(flavor: Flavor, mirror: &Mirror, build: &Path, log: &Path) -> Result<()> {
    let debootstrap = find_program("debootstrap").context("debootstrap not found")?;
    let script = debootstrap_script(flavor.suite)?;
    let mut cmd = Command::new(debootstrap);
    cmd.args(["--variant=minbase", "--components=main"])
        .arg(format!("--include={}", flavor.include().join(",")));
    if Path::new(KEYRING).is_file() {
        cmd.arg(format!("--keyring={KEYRING}"));
    } else {
        println!("    warning: {KEYRING} missing, Release signatures are not checked");
    }
    cmd.arg(flavor.suite).arg(build).arg(&mirror.url);
    if let Some(script) = script {
        println!(
            "    no debootstrap script for {}: using `{script}`'s",
            flavor.suite
        );
        cmd.arg(script);
    }
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        .env("DEBCONF_NONINTERACTIVE_SEEN", "true")
        .env("LC_ALL", "C")
        .env_remove("LANG")
        .env_remove("LANGUAGE");
    if let Some(proxy) = &mirror.proxy {
        cmd.env("http_proxy", proxy);
    }
    println!("    log: {}", log.display());
    let result = run_logged(&mut cmd, log, Duration::from_secs(20));
    if result.is_err()
        && fs::read_to_string(log)
            .unwrap_or_default()
            .contains("signed by unknown key")
    {
        eprintln!(
            "    the host's {KEYRING} has no key for {}'s Release file: install a newer \
             debian-archive-keyring (or set {MIRROR_ENV} to a mirror it can check)",
            flavor.suite
        );
    }
    if result.is_err() {
        // debootstrap's own log has the real reason; keep it outside the build dir.
        let inner = build.join("debootstrap/debootstrap.log");
        if inner.is_file() {
            let keep = log.with_extension("inner.log");
            let _ = fs::copy(&inner, &keep);
            eprintln!(
                "    debootstrap's internal log: {} (tail: {})",
                keep.display(),
                tail_lines(&fs::read_to_string(&keep).unwrap_or_default(), 3)
            );
        }
    }
    result?;
    let postgres = format!("{}/postgres", flavor.pg_bin().trim_start_matches('/'));
    for required in [postgres.as_str(), "bin/bash"] {
        if !build.join(required).exists() {
            bail!("debootstrap finished but /{required} is missing in the rootfs");
        }
    }
    Ok(())
}

fn customize(flavor: Flavor, root: &Path) -> Result<()> {
    let Flavor {
        major: pg_major,
        suite,
    } = flavor;
    // The postgresql-<major> postinst created a "<major>/main" cluster: the entrypoint
    // initdb's PGDATA instead.
    for dir in ["etc/postgresql", "var/lib/postgresql", "var/log/postgresql"] {
        remove_children(&root.join(dir), &[])?;
    }

    // Like the official image: initdb's postgresql.conf listens on '*' (the temporary
    // init server overrides it with listen_addresses='').
    let sample = root.join(format!(
        "usr/share/postgresql/{pg_major}/postgresql.conf.sample"
    ));
    let text =
        fs::read_to_string(&sample).with_context(|| format!("cannot read {}", sample.display()))?;
    let mut replaced = false;
    let patched: Vec<String> = text
        .lines()
        .map(|line| {
            let t = line.trim_start_matches('#');
            if !replaced && t.starts_with("listen_addresses") {
                replaced = true;
                "listen_addresses = '*'\t\t# what IP address(es) to listen on; (pgharness image)"
                    .to_string()
            } else {
                line.to_string()
            }
        })
        .collect();
    if !replaced {
        bail!("no listen_addresses line in {}", sample.display());
    }
    fs::write(&sample, patched.join("\n") + "\n")?;

    // en_US.UTF-8 (the official image's default) for POSTGRES_INITDB_ARGS=--locale=en_US.UTF-8;
    // the image itself defaults to the built-in C.UTF-8. The alias file is in
    // /usr/share/locale up to trixie; newer `locales` (forky) ship only /etc/locale.alias.
    let mut localedef = Command::new("chroot");
    localedef
        .arg(root)
        .args(["localedef", "-i", "en_US", "-c", "-f", "UTF-8"]);
    match LOCALE_ALIAS
        .iter()
        .find(|a| root.join(a.trim_start_matches('/')).exists())
    {
        Some(alias) => {
            localedef.args(["-A", alias]);
        }
        None => println!(
            "    note: no locale.alias ({}), en_US.UTF-8 built without aliases",
            LOCALE_ALIAS.join(", ")
        ),
    }
    run_cmd(localedef.arg("en_US.UTF-8").env("LC_ALL", "C"))?;

    // Drop LLVM JIT (~130 MB: libllvm14 + libz3-4 on bookworm; whichever libllvm<N> and
    // libz3-<N> the suite's postgresql depends on). Without llvmjit.so PostgreSQL
    // silently runs with JIT unavailable.
    let jit_packages = installed_packages(root)?
        .into_iter()
        .filter(|p| is_versioned(p, "libllvm") || is_versioned(p, "libz3-"))
        .collect::<Vec<_>>();
    if jit_packages.is_empty() {
        println!("    note: no libllvm<N>/libz3-<N> installed, nothing to purge for JIT");
    } else {
        println!("    purge (JIT): {}", jit_packages.join(" "));
        run_cmd(
            Command::new("chroot")
                .arg(root)
                .args(["dpkg", "--purge", "--force-depends"])
                .args(&jit_packages)
                .env("LC_ALL", "C")
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    let pglib = root.join(format!("usr/lib/postgresql/{pg_major}/lib"));
    for name in ["llvmjit.so", "llvmjit_types.bc"] {
        remove_path(&pglib.join(name))?;
    }
    remove_path(&pglib.join("bitcode"))?;

    // Directories and ownership as in the official image.
    let (uid, gid) = passwd_ids(root, "postgres")?;
    let pgdata = root.join(PGDATA.trim_start_matches('/'));
    fs::create_dir_all(&pgdata)?;
    std::os::unix::fs::chown(&pgdata, Some(uid), Some(gid))?;
    fs::set_permissions(&pgdata, fs::Permissions::from_mode(0o1777))?;
    let run_pg = root.join("run/postgresql");
    fs::create_dir_all(&run_pg)?;
    std::os::unix::fs::chown(&run_pg, Some(uid), Some(gid))?;
    fs::set_permissions(&run_pg, fs::Permissions::from_mode(0o3777))?;
    let initdb_d = root.join("docker-entrypoint-initdb.d");
    fs::create_dir_all(&initdb_d)?;
    fs::set_permissions(&initdb_d, fs::Permissions::from_mode(0o755))?;

    // Portable apt sources for derived images (debootstrap wrote the build mirror).
    fs::write(
        root.join("etc/apt/sources.list"),
        format!(
            "deb http://deb.debian.org/debian {suite} main\n\
             deb http://deb.debian.org/debian {suite}-updates main\n\
             deb http://deb.debian.org/debian-security {suite}-security main\n"
        ),
    )?;
    // Keep later `apt-get install`s in derived images as small as this one.
    fs::write(
        root.join("etc/dpkg/dpkg.cfg.d/pgharness-excludes"),
        "path-exclude /usr/share/doc/*\n\
         path-exclude /usr/share/man/*\n\
         path-exclude /usr/share/info/*\n\
         path-exclude /usr/share/locale/*\n\
         path-include /usr/share/locale/locale.alias\n",
    )?;
    // Docker provides these at run time; don't ship the build host's.
    fs::write(root.join("etc/resolv.conf"), "")?;
    fs::write(root.join("etc/hostname"), "")?;

    for required in ["usr/bin/setpriv", "usr/bin/env", "usr/bin/find"] {
        if !root.join(required).exists() {
            bail!("/{required} is missing in the rootfs (needed by the entrypoint)");
        }
    }
    Ok(())
}

/// Names of the packages dpkg has installed in `root`.
fn installed_packages(root: &Path) -> Result<Vec<String>> {
    let out = run_cmd(
        Command::new("chroot")
            .arg(root)
            .args([
                "dpkg-query",
                "--show",
                "--showformat=${Status}\t${Package}\n",
            ])
            .env("LC_ALL", "C"),
    )?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(status, _)| status.ends_with(" installed"))
        .map(|(_, name)| name.to_string())
        .collect())
}

/// `name` is `prefix` followed by a version number only (`libllvm19`, `libz3-4`, also with
/// the 64-bit time_t `t64` suffix), so e.g. `libllvm-foo` or `libz3-dev` are not.
fn is_versioned(name: &str, prefix: &str) -> bool {
    let Some(rest) = name.strip_prefix(prefix) else {
        return false;
    };
    let rest = rest.strip_suffix("t64").unwrap_or(rest);
    rest.starts_with(|c: char| c.is_ascii_digit())
        && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn trim(root: &Path) -> Result<()> {
    let before = du_bytes(root);
    for dir in [
        "usr/share/doc",
        "usr/share/man",
        "usr/share/info",
        "usr/share/lintian",
        "usr/share/i18n",
        "var/lib/apt/lists",
        "var/cache/apt/archives",
        "var/cache/debconf",
        "tmp",
        "var/tmp",
    ] {
        remove_children(
            &root.join(dir),
            &["partial", "lock", "config.dat", "templates.dat"],
        )?;
    }
    remove_children(&root.join("usr/share/locale"), &["locale.alias"])?;
    for entry in read_dir_paths(&root.join("var/cache/apt"))? {
        if entry.extension().and_then(|e| e.to_str()) == Some("bin") {
            remove_path(&entry)?;
        }
    }
    for entry in read_dir_paths(&root.join("var/lib/dpkg"))? {
        if entry.to_string_lossy().ends_with("-old") {
            remove_path(&entry)?;
        }
    }
    // Log files (keep the directories, e.g. var/log/apt, var/log/postgresql).
    for entry in read_dir_paths(&root.join("var/log"))? {
        if entry.is_dir() {
            for sub in read_dir_paths(&entry)? {
                if sub.is_file() {
                    remove_path(&sub)?;
                }
            }
        } else {
            remove_path(&entry)?;
        }
    }
    let after = du_bytes(root);
    println!("    rootfs {} -> {}", human_size(before), human_size(after));
    Ok(())
}

// ---------------------------------------------------------------------------
// import + smoke check

fn import(flavor: Flavor, dir: &Path, tarball: &Path) -> Result<String> {
    let image = flavor.image();
    let image = image.as_str();
    let Flavor {
        major: pg_major,
        suite,
    } = flavor;
    // A copy of the cached rootfs plus the entrypoint appended.
    let pid = std::process::id();
    let import_tar = dir.join(format!("import-{pid}.tar"));
    let _tar_guard = RemoveOnDrop(import_tar.clone());
    let overlay = dir.join(format!("overlay-{pid}"));
    let _overlay_guard = RemoveOnDrop(overlay.clone());

    let t = Instant::now();
    fs::copy(tarball, &import_tar).with_context(|| {
        format!(
            "cannot copy {} to {}",
            tarball.display(),
            import_tar.display()
        )
    })?;
    let script = overlay.join(ENTRYPOINT_PATH);
    fs::create_dir_all(script.parent().expect("entrypoint has a parent"))?;
    fs::write(&script, ENTRYPOINT_SH)?;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755))?;
    run_cmd(
        Command::new("tar")
            .arg("--append")
            .arg("--file")
            .arg(&import_tar)
            .args(["--owner=0", "--group=0", "--numeric-owner"])
            .arg("--directory")
            .arg(&overlay)
            .arg(format!("./{ENTRYPOINT_PATH}")),
    )?;
    println!("    copy rootfs + append entrypoint: {}", secs(t.elapsed()));

    let changes = [
        format!("ENV PATH={}:{BASE_PATH}", flavor.pg_bin()),
        format!("ENV PG_MAJOR={pg_major}"),
        format!("ENV PGDATA={PGDATA}"),
        "ENV LANG=C.UTF-8".to_string(),
        r#"ENTRYPOINT ["docker-entrypoint.sh"]"#.to_string(),
        r#"CMD ["postgres"]"#.to_string(),
        "EXPOSE 5432".to_string(),
        "USER root".to_string(),
        "WORKDIR /".to_string(),
        format!(
            "LABEL org.opencontainers.image.title={image} \
             org.opencontainers.image.description=\"PostgreSQL {pg_major} from Debian {suite} packages (cargo xtask image)\""
        ),
    ];
    let import = |extra: Option<&str>, tag: Option<&str>| -> Result<String> {
        let mut cmd = Command::new("docker");
        cmd.arg("import");
        for change in changes.iter().map(String::as_str).chain(extra) {
            cmd.arg("--change").arg(change);
        }
        cmd.args(["--message", "cargo xtask image (pgharness)"])
            .arg(&import_tar)
            .args(tag);
        let t = Instant::now();
        let id = run_cmd(&mut cmd)?.trim().to_string();
        println!("    docker import: {}", secs(t.elapsed()));
        Ok(id)
    };
    match import(Some(STOPSIGNAL), Some(image)) {
        Ok(id) => Ok(id),
        // Some engines (20.10 here) refuse STOPSIGNAL in `docker import --change`: import
        // untagged, then add it with a one-line build FROM the imported image (local,
        // so no registry involved; the legacy builder never tries to pull it).
        Err(e)
            if e.to_string()
                .contains("stopsignal is not a valid change command") =>
        {
            let base = import(None, None)?;
            let dockerfile = format!("FROM {base}\n{STOPSIGNAL}\n");
            let t = Instant::now();
            let built = run_cmd_input(
                Command::new("docker")
                    .args(["build", "--quiet", "--tag", image, "-"])
                    .env("DOCKER_BUILDKIT", "0"),
                dockerfile.as_bytes(),
            );
            match built {
                Ok(_) => println!(
                    "    {STOPSIGNAL} via FROM-local build (this engine rejects it in `docker import --change`): {}",
                    secs(t.elapsed())
                ),
                Err(e) => {
                    eprintln!("    warning: could not add {STOPSIGNAL} ({e}); `docker stop` will use SIGTERM");
                    docker_out(&["tag", &base, image])?;
                }
            }
            image_id(image)?.ok_or_else(|| anyhow!("{image} missing right after import"))
        }
        Err(e) => Err(e),
    }
}

fn smoke_check(flavor: Flavor) -> Result<()> {
    let image = flavor.image();
    // Leftovers of an interrupted earlier run (we hold the lock, so none is ours).
    let stale = docker_out(&["ps", "-aq", "--filter", &format!("label={SMOKE_LABEL}")])?;
    for id in stale.split_whitespace() {
        let _ = docker_out(&["rm", "-f", id]);
    }

    let start = Instant::now();
    let password = "pgharness-smoke";
    // Same shape as testcontainers-modules' Postgres: cmd `-c fsync=off` (no `postgres`).
    let id = docker_out(&[
        "run",
        "-d",
        "--label",
        SMOKE_LABEL,
        "-e",
        &format!("POSTGRES_PASSWORD={password}"),
        "-p",
        "127.0.0.1::5432",
        &image,
        "-c",
        "fsync=off",
    ])?
    .trim()
    .to_string();
    let container = ContainerGuard(id.clone());

    let deadline = start + SMOKE_TIMEOUT;
    loop {
        let out = Command::new("docker")
            .args(["logs", &id])
            .output()
            .context("cannot run `docker logs`")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stdout.contains(READY_LINE) && stderr.contains(READY_LINE) {
            break;
        }
        let running = docker_out(&["inspect", "--format", "{{.State.Running}}", &id])?;
        if running.trim() != "true" || Instant::now() > deadline {
            let why = if running.trim() != "true" {
                "exited"
            } else {
                "timed out"
            };
            bail!(
                "smoke container {why} before logging `{READY_LINE}` on stdout and stderr; log tail: {}",
                tail_lines(&format!("{stdout}\n{stderr}"), 8)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let ready = start.elapsed();
    println!("    container start-to-ready: {}", secs(ready));

    let port_line = docker_out(&["port", &id, "5432/tcp"])?;
    let host_port = port_line
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| anyhow!("`docker port {id} 5432/tcp` printed nothing"))?
        .to_string();

    let query = "select version()";
    let mut last_err = None;
    for _ in 0..15 {
        let mut cmd = if find_program("psql").is_some() {
            let mut c = Command::new("psql");
            c.args(["-X", "-At", "-h", "127.0.0.1", "-p", &host_port]);
            c.env("PGPASSWORD", password).env("PGCONNECT_TIMEOUT", "5");
            c
        } else {
            // No client on the host: go through TCP inside the container instead.
            let mut c = Command::new("docker");
            c.args(["exec", "-e", &format!("PGPASSWORD={password}"), &id]);
            c.args(["psql", "-X", "-At", "-h", "127.0.0.1"]);
            c
        };
        cmd.args(["-U", "postgres", "-d", "postgres", "-c", query]);
        match run_cmd(&mut cmd) {
            Ok(version) => {
                let version = version.trim();
                println!("    {query}: {version}");
                if !runs_major(version, flavor.major) {
                    bail!("{image} runs `{version}`, not PostgreSQL {}", flavor.major);
                }
                last_err = None;
                break;
            }
            Err(e) => last_err = Some(e),
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    if let Some(e) = last_err {
        return Err(e);
    }
    drop(container);
    Ok(())
}

/// `version()` output (`PostgreSQL 17.6 (Debian 17.6-0+deb13u1) on ...`) is of `major`.
fn runs_major(version: &str, major: &str) -> bool {
    version
        .strip_prefix("PostgreSQL ")
        .and_then(|v| v.strip_prefix(major))
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
}

// ---------------------------------------------------------------------------
// helpers

fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("==> {name}");
    let t = Instant::now();
    let result = f();
    match &result {
        Ok(_) => println!("    {name}: {}", secs(t.elapsed())),
        Err(_) => eprintln!("    {name}: FAILED after {}", secs(t.elapsed())),
    }
    result
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn human_size(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

fn file_size(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn du_bytes(path: &Path) -> u64 {
    Command::new("du")
        .args(["-sxb"])
        .arg(path)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn env_nonempty(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// The workspace target dir: `$CARGO_TARGET_DIR` or `<workspace>/target`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if dir.is_absolute() {
            return dir;
        }
        if let Ok(cwd) = std::env::current_dir() {
            return cwd.join(dir);
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .join("target")
}

fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join(".lock");
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => {
            bail!(
                "another `cargo xtask image` is running (lock {})",
                path.display()
            )
        }
        Err(fs::TryLockError::Error(e)) => {
            Err(e).context(format!("cannot lock {}", path.display()))
        }
    }
}

fn is_root() -> bool {
    // Effective uid is the second field of `Uid:` in /proc/self/status.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| {
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

fn passwd_ids(root: &Path, user: &str) -> Result<(u32, u32)> {
    let passwd = fs::read_to_string(root.join("etc/passwd"))?;
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() > 3 && f[0] == user {
                Some((f[2].parse().ok()?, f[3].parse().ok()?))
            } else {
                None
            }
        })
        .ok_or_else(|| anyhow!("no `{user}` user in the rootfs /etc/passwd"))
}

fn read_dir_paths(dir: &Path) -> Result<Vec<PathBuf>> {
    match fs::read_dir(dir) {
        Ok(rd) => Ok(rd.flatten().map(|e| e.path()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot list {}", dir.display())),
    }
}

fn remove_children(dir: &Path, keep: &[&str]) -> Result<()> {
    for entry in read_dir_paths(dir)? {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !keep.contains(&name) {
            remove_path(&entry)?;
        }
    }
    Ok(())
}

fn remove_path(path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot stat {}", path.display())),
    };
    let result = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    result.with_context(|| format!("cannot remove {}", path.display()))
}

/// Unmounts anything debootstrap left mounted below `dir` (interrupted run), then
/// removes it without crossing file systems.
fn clean_build_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let canonical = dir.canonicalize()?;
    let prefix = canonical.to_string_lossy().to_string();
    let mut mounts: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| {
            m.replace("\\040", " ")
                .replace("\\011", "\t")
                .replace("\\134", "\\")
        })
        .filter(|m| m == &prefix || m.starts_with(&format!("{prefix}/")))
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for mount in mounts {
        run_cmd(Command::new("umount").arg("--lazy").arg(&mount))?;
    }
    run_cmd(
        Command::new("rm")
            .args(["-rf", "--one-file-system"])
            .arg(&canonical),
    )?;
    Ok(())
}

struct BuildDirGuard(PathBuf);

impl Drop for BuildDirGuard {
    fn drop(&mut self) {
        if let Err(e) = clean_build_dir(&self.0) {
            eprintln!("warning: cannot clean up {}: {e:#}", self.0.display());
        }
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = remove_path(&self.0);
    }
}

/// `docker rm -f` on drop, so no container outlives us (errors included).
struct ContainerGuard(String);

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn display_cmd(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().to_string()];
    parts.extend(cmd.get_args().map(|a| {
        let a = a.to_string_lossy();
        if a.contains(' ') || a.is_empty() {
            format!("'{a}'")
        } else {
            a.to_string()
        }
    }));
    let s = parts.join(" ");
    if s.chars().count() > 160 {
        format!("{}...", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(n)..].join(" | ");
    if tail.is_empty() {
        "(no output)".to_string()
    } else {
        tail
    }
}

/// Runs `cmd`, returns its stdout; on failure the error names the command and
/// carries the tail of its stderr (or stdout).
fn run_cmd(cmd: &mut Command) -> Result<String> {
    run_cmd_input(cmd, b"")
}

/// [`run_cmd`] with `input` fed to the command's stdin.
fn run_cmd_input(cmd: &mut Command, input: &[u8]) -> Result<String> {
    let shown = display_cmd(cmd);
    let mut child = cmd
        .stdin(if input.is_empty() {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow!("cannot run `{shown}`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input)
            .map_err(|e| anyhow!("cannot write to `{shown}`: {e}"))?;
    }
    let out: Output = child
        .wait_with_output()
        .map_err(|e| anyhow!("cannot wait for `{shown}`: {e}"))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = if stderr.trim().is_empty() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        stderr.into_owned()
    };
    bail!(
        "`{shown}` failed ({}): {}",
        out.status,
        tail_lines(&text, 4)
    )
}

fn docker_out(args: &[&str]) -> Result<String> {
    run_cmd(Command::new("docker").args(args))
}

/// `Some(id)` if `image` exists locally, `None` if not; errors if docker itself fails.
fn image_id(image: &str) -> Result<Option<String>> {
    let out = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| anyhow!("cannot run `docker` (is it installed?): {e}"))?;
    if out.status.success() {
        return Ok(Some(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No such image") || stderr.contains("No such object") {
        return Ok(None);
    }
    bail!(
        "`docker image inspect {image}` failed ({}): {}",
        out.status,
        tail_lines(&stderr, 4)
    )
}

/// Runs a long command with stdout+stderr appended to `log`, printing the log's last
/// line every `heartbeat`; on failure the error carries the log's tail.
fn run_logged(cmd: &mut Command, log: &Path, heartbeat: Duration) -> Result<()> {
    let shown = display_cmd(cmd);
    let file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .map_err(|e| anyhow!("cannot run `{shown}`: {e}"))?;
    let start = Instant::now();
    let mut last_beat = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(250));
        if last_beat.elapsed() >= heartbeat {
            last_beat = Instant::now();
            let text = fs::read_to_string(log).unwrap_or_default();
            println!("    [{}] {}", secs(start.elapsed()), tail_lines(&text, 1));
        }
    };
    if status.success() {
        return Ok(());
    }
    let text = fs::read_to_string(log).unwrap_or_default();
    bail!(
        "`{shown}` failed ({status}): {} (full log: {})",
        tail_lines(&text, 4),
        log.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Vec<Flavor>> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Ok(Options::parse(&args)?.expect("not --help").flavors)
    }

    #[test]
    fn default_is_15_with_the_old_names() {
        let flavors = parse(&[]).unwrap();
        assert_eq!(flavors.len(), 1);
        let f = flavors[0];
        assert_eq!(f.image(), "pgharness/postgres:15-debian");
        assert_eq!(f.tarball(), "rootfs-bookworm-pg15.tar");
        assert_eq!(f.pg_bin(), "/usr/lib/postgresql/15/bin");
        assert_eq!(f.include(), ["postgresql-15", "libnss-wrapper"]);
    }

    #[test]
    fn pg_lists_in_order_without_repeats() {
        let majors =
            |args: &[&str]| -> Vec<&str> { parse(args).unwrap().iter().map(|f| f.major).collect() };
        assert_eq!(majors(&["--pg", "17"]), ["17"]);
        assert_eq!(majors(&["--pg=18", "--force"]), ["18"]);
        assert_eq!(
            majors(&["--pg", "18,15", "--pg", "17,15"]),
            ["18", "15", "17"]
        );
        assert_eq!(
            parse(&["--pg", "17"]).unwrap()[0].tarball(),
            "rootfs-trixie-pg17.tar"
        );
        assert_eq!(
            parse(&["--pg", "18"]).unwrap()[0].image(),
            "pgharness/postgres:18-debian"
        );
        assert!(parse(&["--pg", "16"]).is_err());
        assert!(parse(&["--pg"]).is_err());
        assert!(parse(&["--pg", ","]).is_err());
    }

    #[test]
    fn jit_packages_and_versions() {
        assert!(is_versioned("libllvm14", "libllvm"));
        assert!(is_versioned("libllvm19", "libllvm"));
        assert!(is_versioned("libz3-4", "libz3-"));
        assert!(is_versioned("libz3-4t64", "libz3-"));
        assert!(!is_versioned("libz3-dev", "libz3-"));
        assert!(!is_versioned("libllvm-foo", "libllvm"));
        assert!(runs_major(
            "PostgreSQL 18.1 (Debian 18.1-1) on x86_64-pc-linux-gnu",
            "18"
        ));
        assert!(runs_major("PostgreSQL 18beta1 on x86_64", "18"));
        assert!(!runs_major(
            "PostgreSQL 15.14 (Debian 15.14-0+deb12u1)",
            "1"
        ));
        assert!(!runs_major("PostgreSQL 15.14", "17"));
    }
}
