//! The `docker` backend: a throwaway Postgres container started through
//! testcontainers (postgres module), data dir on tmpfs, fsync off, the port
//! published on 127.0.0.1 only, labelled with its owner so that a later run
//! can remove what a killed run left behind.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bollard::query_parameters::{
    CreateImageOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use sqlx::postgres::PgConnectOptions;
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::core::Mount;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};

use super::naming::{host_tag, Owner};
use super::ServerError;

/// Label every harness container carries; its value is the owner's host.
const LABEL_HOST: &str = "pgharness.host";
/// The owner's pid, to find a run's container by (reaping does not read it).
const LABEL_PID: &str = "pgharness.pid";
/// The owner marker (see [`Owner`]): what reaping is decided on.
const LABEL_OWNER: &str = "pgharness.owner";

/// The Postgres data directory of the official image (and ours), put on
/// tmpfs.
const DATA_DIR: &str = "/var/lib/postgresql/data";

fn unavailable(what: &str, e: impl std::fmt::Display) -> ServerError {
    ServerError::Unavailable(format!("{what}: {e}"))
}

/// Connects to the Docker engine and checks that it answers.
async fn engine() -> Result<Docker, ServerError> {
    let docker = Docker::connect_with_defaults().map_err(|e| unavailable("no Docker engine", e))?;
    tokio::time::timeout(Duration::from_secs(5), docker.ping())
        .await
        .map_err(|_| {
            ServerError::Unavailable("the Docker engine did not answer within 5 s".into())
        })?
        .map_err(|e| unavailable("the Docker engine is not reachable", e))?;
    Ok(docker)
}

/// Splits `registry:5000/name:tag` into name and tag (default `latest`).
pub fn split_image(image: &str) -> (String, String) {
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) => (
            image[..last_slash + i].to_string(),
            image[last_slash + i + 1..].to_string(),
        ),
        None => (image.to_string(), "latest".to_string()),
    }
}

/// Whether the docker backend can serve `image` here: the engine answers
/// and the image is present or could be pulled. The `Err` says why not.
pub async fn usable(image: &str) -> Result<String, ServerError> {
    let docker = engine().await?;
    if docker.inspect_image(image).await.is_ok() {
        return Ok(format!(
            "a Docker engine is reachable and image {image} is present"
        ));
    }
    let (name, tag) = split_image(image);
    let options = CreateImageOptionsBuilder::new()
        .from_image(&name)
        .tag(&tag)
        .build();
    let pull = async {
        let mut stream = docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            item?;
        }
        Ok::<(), bollard::errors::Error>(())
    };
    match tokio::time::timeout(Duration::from_secs(300), pull).await {
        Ok(Ok(())) => Ok(format!(
            "a Docker engine is reachable and image {image} was pulled"
        )),
        Ok(Err(e)) => Err(unavailable(
            &format!("image {image} is not present and cannot be pulled"),
            e,
        )),
        Err(_) => Err(ServerError::Unavailable(format!(
            "pulling image {image} took over 300 s"
        ))),
    }
}

/// Removes containers left by killed runs of this machine: ours by label,
/// whose owner process is gone. Returns how many.
pub async fn reap_leftovers() -> Result<usize, ServerError> {
    let docker = engine().await?;
    let host = host_tag();
    let filters: HashMap<&str, Vec<String>> =
        HashMap::from([("label", vec![format!("{LABEL_HOST}={host}")])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| unavailable("listing containers", e))?;
    let mut reaped = 0;
    for c in containers {
        let labels = c.labels.unwrap_or_default();
        let gone = labels
            .get(LABEL_OWNER)
            .and_then(|m| Owner::parse(m))
            .is_some_and(|owner| owner.is_gone());
        let Some(id) = c.id.filter(|_| gone) else {
            continue;
        };
        let remove = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match docker.remove_container(&id, Some(remove)).await {
            Ok(()) => {
                let short: String = id.chars().take(12).collect();
                tracing::info!("reaped container {short} left by a killed run");
                reaped += 1;
            }
            // Another run is reaping it right now, or has just done so.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404 | 409,
                ..
            }) => {}
            Err(e) => tracing::warn!("could not remove leftover container {id}: {e}"),
        }
    }
    Ok(reaped)
}

/// A running Postgres container.
pub struct DockerServer {
    container: Mutex<Option<ContainerAsync<Postgres>>>,
    id: String,
    port: u16,
    password: String,
}

impl std::fmt::Debug for DockerServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerServer")
            .field("id", &self.id)
            .field("port", &self.port)
            .finish()
    }
}

impl DockerServer {
    /// Starts a container of `image` and waits until it accepts connections.
    pub async fn start(image: &str) -> Result<DockerServer, ServerError> {
        // Fail early, with the engine's own words, when it is not there.
        engine().await?;
        reap_leftovers().await?;
        let (name, tag) = split_image(image);
        let password = super::local::random_hex(12);
        let request = Postgres::default()
            .with_password(&password)
            .with_name(name)
            .with_tag(tag)
            .with_label(LABEL_HOST, host_tag())
            .with_label(LABEL_PID, std::process::id().to_string())
            .with_label(LABEL_OWNER, Owner::current().marker())
            .with_mount(Mount::tmpfs_mount(DATA_DIR))
            .with_cmd([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ])
            .with_startup_timeout(Duration::from_secs(120))
            .with_host_config_modifier(|host_config| {
                // Publish 5432 on the loopback interface only, on a free port.
                host_config.publish_all_ports = Some(false);
                host_config.port_bindings = Some(HashMap::from([(
                    "5432/tcp".to_string(),
                    Some(vec![bollard::models::PortBinding {
                        host_ip: Some("127.0.0.1".to_string()),
                        host_port: Some(String::new()),
                    }]),
                )]));
            });
        let container = request.start().await.map_err(|e| ServerError::Start {
            message: format!("container {image} did not start: {e}"),
            log: Vec::new(),
        })?;
        let id = container.id().to_string();
        let port = match container.get_host_port_ipv4(5432).await {
            Ok(port) => port,
            Err(e) => {
                let _ = container.rm().await;
                return Err(unavailable("reading the container's port", e));
            }
        };
        Ok(DockerServer {
            container: Mutex::new(Some(container)),
            id,
            port,
            password,
        })
    }

    /// Connection options for database `db`.
    pub fn connect_options(&self, db: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username("postgres")
            .password(&self.password)
            .database(db)
    }

    /// A URL for database `db`, with the password.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{db}",
            self.password, self.port
        )
    }

    /// The container's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Removes the container, within the cleanup timeout. Idempotent.
    pub async fn stop(&self) {
        let container = self
            .container
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(container) = container {
            let removed =
                tokio::time::timeout(super::cleanup::CLEANUP_TIMEOUT, container.rm()).await;
            match removed {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("could not remove container {}: {e}", self.id),
                Err(_) => tracing::warn!("removing container {} timed out", self.id),
            }
        }
    }

    /// Hands the container over for removal by [`super::cleanup`] (for
    /// drop, which cannot await). Idempotent.
    pub(crate) fn release(&self) -> Option<super::cleanup::Leftover> {
        let container = self
            .container
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        // testcontainers' own drop needs a runtime (it blocks on one, or
        // panics without); cleanup removes the container by id instead.
        std::mem::forget(container);
        Some(super::cleanup::Leftover::Container {
            id: self.id.clone(),
        })
    }
}

impl Drop for DockerServer {
    fn drop(&mut self) {
        if let Some(leftover) = self.release() {
            super::cleanup::defer(leftover);
        }
    }
}

/// Removes container `id` (forced, with its volumes).
pub(crate) async fn remove(id: &str) {
    let Ok(docker) = Docker::connect_with_defaults() else {
        tracing::warn!("could not remove container {id}: no Docker engine");
        return;
    };
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(id, Some(options)).await {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        Err(e) => tracing::warn!("could not remove container {id}: {e}"),
    }
}

/// [`remove`] without a runtime (at process exit): one HTTP request to the
/// engine's API over its socket (`DOCKER_HOST` when it is `unix://` or
/// `tcp://`, else `/var/run/docker.sock`).
pub(crate) fn remove_now(id: &str) -> Result<(), String> {
    use std::io::{Read, Write};
    let request = format!(
        "DELETE /containers/{id}?force=true&v=true HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"
    );
    let timeout = Some(Duration::from_secs(10));
    let host = std::env::var("DOCKER_HOST").unwrap_or_default();
    let mut response = Vec::new();
    if let Some(addr) = host.strip_prefix("tcp://") {
        let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
        s.set_read_timeout(timeout).ok();
        s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        s.read_to_end(&mut response).map_err(|e| e.to_string())?;
    } else {
        let path = host
            .strip_prefix("unix://")
            .unwrap_or("/var/run/docker.sock")
            .to_string();
        let mut s =
            std::os::unix::net::UnixStream::connect(&path).map_err(|e| format!("{path}: {e}"))?;
        s.set_read_timeout(timeout).ok();
        s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        s.read_to_end(&mut response).map_err(|e| e.to_string())?;
    }
    let status = String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    // 204 removed, 404 already gone.
    if status.contains(" 204") || status.contains(" 404") {
        Ok(())
    } else {
        Err(format!(
            "removing container {id}: the engine answered {status:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::split_image;

    #[test]
    fn image_names_split_at_the_tag() {
        let s = |i: &str| split_image(i);
        assert_eq!(
            s("postgres:16-alpine"),
            ("postgres".into(), "16-alpine".into())
        );
        assert_eq!(
            s("pgharness/postgres:15-debian"),
            ("pgharness/postgres".into(), "15-debian".into())
        );
        assert_eq!(
            s("registry:5000/pg"),
            ("registry:5000/pg".into(), "latest".into())
        );
        assert_eq!(
            s("registry:5000/pg:16"),
            ("registry:5000/pg".into(), "16".into())
        );
    }
}
