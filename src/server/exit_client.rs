//! A minimal, synchronous PostgreSQL client for one job: dropping the
//! run's databases on a user's server when the process exits and no async
//! runtime is left to do it (a test binary's exit, after every test's
//! runtime is gone). It speaks the frontend/backend protocol 3.0 over TCP
//! or a Unix socket, authenticates with trust, password, md5 or
//! SCRAM-SHA-256, and runs simple queries. TLS is not spoken: a server
//! that requires it keeps the databases, and the next run on this machine
//! reaps them (their names carry host and pid).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Every read and write gives up after this long: exit must not hang on a
/// server that does not answer.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// A host name or address, or the directory of a Unix socket.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub database: String,
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A connection after authentication.
pub(crate) struct Client {
    stream: Box<dyn Stream>,
}

impl Client {
    /// Connects and authenticates.
    pub(crate) fn connect(target: &Target) -> Result<Client, String> {
        let stream: Box<dyn Stream> = if target.host.starts_with('/') {
            let path = format!("{}/.s.PGSQL.{}", target.host, target.port);
            let s = UnixStream::connect(&path).map_err(|e| format!("{path}: {e}"))?;
            s.set_read_timeout(Some(IO_TIMEOUT)).ok();
            s.set_write_timeout(Some(IO_TIMEOUT)).ok();
            Box::new(s)
        } else {
            let addr = format!("{}:{}", target.host, target.port);
            let s = TcpStream::connect(&addr).map_err(|e| format!("{addr}: {e}"))?;
            s.set_read_timeout(Some(IO_TIMEOUT)).ok();
            s.set_write_timeout(Some(IO_TIMEOUT)).ok();
            s.set_nodelay(true).ok();
            Box::new(s)
        };
        let mut client = Client { stream };
        client.startup(target)?;
        Ok(client)
    }

    /// Runs one simple query; the first error the server reports, if any.
    pub(crate) fn execute(&mut self, sql: &str) -> Result<(), String> {
        let mut body = sql.as_bytes().to_vec();
        body.push(0);
        self.send(b'Q', &body)?;
        let mut error = None;
        loop {
            let (tag, body) = self.receive()?;
            match tag {
                b'E' if error.is_none() => error = Some(error_message(&body)),
                b'Z' => break,
                _ => {}
            }
        }
        error.map_or(Ok(()), Err)
    }

    /// Runs one simple query and returns the first column of its first
    /// row (`None`: no row, or NULL).
    pub(crate) fn query_first(&mut self, sql: &str) -> Result<Option<String>, String> {
        let mut body = sql.as_bytes().to_vec();
        body.push(0);
        self.send(b'Q', &body)?;
        let (mut error, mut first) = (None, None);
        loop {
            let (tag, body) = self.receive()?;
            match tag {
                b'E' if error.is_none() => error = Some(error_message(&body)),
                // DataRow: Int16 columns, then Int32 length (-1: NULL) and bytes.
                b'D' if first.is_none() && body.len() >= 6 => {
                    let len = be_u32(&body, 2)? as i32;
                    first = Some(if len < 0 {
                        None
                    } else {
                        let bytes = body
                            .get(6..6 + len as usize)
                            .ok_or_else(|| "short data row".to_string())?;
                        Some(String::from_utf8_lossy(bytes).into_owned())
                    });
                }
                b'Z' => break,
                _ => {}
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(first.flatten()),
        }
    }

    /// Sends `statements` (each its own query) and says goodbye without
    /// waiting: the server runs them in order after this process has gone
    /// on (a `DROP DATABASE` nobody needs to wait for).
    pub(crate) fn send_then_close(mut self, statements: &[String]) -> Result<(), String> {
        for sql in statements {
            let mut body = sql.as_bytes().to_vec();
            body.push(0);
            self.send(b'Q', &body)?;
        }
        self.send(b'X', &[])
    }

    /// Says goodbye (the server ends the session without logging an
    /// unexpected EOF).
    pub(crate) fn close(mut self) {
        let _ = self.send(b'X', &[]);
    }

    fn startup(&mut self, target: &Target) -> Result<(), String> {
        let mut body = 196_608u32.to_be_bytes().to_vec(); // protocol 3.0
        for (key, value) in [
            ("user", target.user.as_str()),
            ("database", target.database.as_str()),
            ("application_name", "pgharness-exit"),
        ] {
            body.extend_from_slice(key.as_bytes());
            body.push(0);
            body.extend_from_slice(value.as_bytes());
            body.push(0);
        }
        body.push(0);
        let mut message = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        message.extend_from_slice(&body);
        self.stream.write_all(&message).map_err(io)?;
        let password = || {
            target
                .password
                .clone()
                .ok_or_else(|| "the server asks for a password and none is known".to_string())
        };
        let mut scram: Option<Scram> = None;
        loop {
            let (tag, body) = self.receive()?;
            match tag {
                b'R' => {
                    let code = be_u32(&body, 0)?;
                    match code {
                        0 => {}
                        3 => {
                            let mut p = password()?.into_bytes();
                            p.push(0);
                            self.send(b'p', &p)?;
                        }
                        5 => {
                            let salt = body.get(4..8).ok_or("short md5 request")?;
                            let inner = hex(&md5::Md5::digest(
                                format!("{}{}", password()?, target.user).as_bytes(),
                            ));
                            let mut outer = inner.into_bytes();
                            outer.extend_from_slice(salt);
                            let mut p =
                                format!("md5{}", hex(&md5::Md5::digest(&outer))).into_bytes();
                            p.push(0);
                            self.send(b'p', &p)?;
                        }
                        10 => {
                            let offered = String::from_utf8_lossy(&body[4..]).to_string();
                            if !offered.split('\0').any(|m| m == "SCRAM-SHA-256") {
                                return Err(format!("unsupported SASL mechanisms: {offered}"));
                            }
                            let s = Scram::new(password()?)?;
                            let first = s.client_first();
                            let mut p = b"SCRAM-SHA-256\0".to_vec();
                            p.extend_from_slice(&(first.len() as u32).to_be_bytes());
                            p.extend_from_slice(first.as_bytes());
                            self.send(b'p', &p)?;
                            scram = Some(s);
                        }
                        11 => {
                            let s = scram.as_ref().ok_or("SASL continue before start")?;
                            let server_first = String::from_utf8_lossy(&body[4..]).to_string();
                            let reply = s.client_final(&server_first)?;
                            self.send(b'p', reply.as_bytes())?;
                        }
                        12 => {}
                        other => return Err(format!("unsupported authentication (code {other})")),
                    }
                }
                b'E' => return Err(error_message(&body)),
                b'Z' => return Ok(()),
                _ => {}
            }
        }
    }

    fn send(&mut self, tag: u8, body: &[u8]) -> Result<(), String> {
        let mut message = vec![tag];
        message.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        message.extend_from_slice(body);
        self.stream.write_all(&message).map_err(io)
    }

    fn receive(&mut self) -> Result<(u8, Vec<u8>), String> {
        let mut head = [0u8; 5];
        self.stream.read_exact(&mut head).map_err(io)?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if !(4..=64 << 20).contains(&len) {
            return Err(format!("bad message length {len}"));
        }
        let mut body = vec![0u8; len - 4];
        self.stream.read_exact(&mut body).map_err(io)?;
        Ok((head[0], body))
    }
}

fn io(e: std::io::Error) -> String {
    e.to_string()
}

fn be_u32(body: &[u8], at: usize) -> Result<u32, String> {
    body.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| "short message".to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `M` (message) field of an ErrorResponse.
fn error_message(body: &[u8]) -> String {
    body.split(|b| *b == 0)
        .find_map(|field| field.strip_prefix(b"M"))
        .map(|m| String::from_utf8_lossy(m).to_string())
        .unwrap_or_else(|| "error".to_string())
}

/// SCRAM-SHA-256 without channel binding (RFC 5802, RFC 7677).
struct Scram {
    password: String,
    nonce: String,
}

type HmacSha256 = Hmac<Sha256>;

impl Scram {
    fn new(password: String) -> Result<Scram, String> {
        let mut raw = [0u8; 18];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut raw))
            .map_err(|e| format!("/dev/urandom: {e}"))?;
        Ok(Scram {
            password,
            nonce: base64::engine::general_purpose::STANDARD.encode(raw),
        })
    }

    fn client_first_bare(&self) -> String {
        format!("n=,r={}", self.nonce)
    }

    fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare())
    }

    fn client_final(&self, server_first: &str) -> Result<String, String> {
        let field = |key: &str| {
            server_first
                .split(',')
                .find_map(|p| p.strip_prefix(key))
                .ok_or_else(|| format!("SCRAM: no {key} in the server's message"))
        };
        let nonce = field("r=")?;
        if !nonce.starts_with(&self.nonce) {
            return Err("SCRAM: the server's nonce does not extend ours".into());
        }
        let salt = base64::engine::general_purpose::STANDARD
            .decode(field("s=")?)
            .map_err(|e| format!("SCRAM salt: {e}"))?;
        let iterations: u32 = field("i=")?
            .parse()
            .map_err(|e| format!("SCRAM iterations: {e}"))?;
        let salted = hi(self.password.as_bytes(), &salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = Sha256::digest(client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!(
            "{},{server_first},{without_proof}",
            self.client_first_bare()
        );
        let signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature.iter())
            .map(|(a, b)| a ^ b)
            .collect();
        Ok(format!(
            "{without_proof},p={}",
            base64::engine::general_purpose::STANDARD.encode(proof)
        ))
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // An HMAC key of any length is valid.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// PBKDF2-HMAC-SHA-256 with one block: SCRAM's `Hi`.
fn hi(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut first = salt.to_vec();
    first.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(password, &first);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac(password, &u);
        for (o, x) in out.iter_mut().zip(u.iter()) {
            *o ^= x;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scram_matches_the_rfc_7677_example() {
        // RFC 7677, section 3 (user "user", password "pencil").
        let s = Scram {
            password: "pencil".into(),
            nonce: "rOprNGfwEbeRWgbNEkqO".into(),
        };
        let server_first =
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        // The RFC's client-first-bare carries n=user; ours leaves the name
        // to the startup message, so compute the RFC's proof with its bare.
        let salt = base64::engine::general_purpose::STANDARD
            .decode("W22ZaJ0SNY7soEsUEjb6gQ==")
            .unwrap();
        let salted = hi(b"pencil", &salt, 4096);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = Sha256::digest(client_key);
        let auth = format!(
            "n=user,r=rOprNGfwEbeRWgbNEkqO,{server_first},c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        );
        let sig = hmac(&stored_key, auth.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(sig.iter())
            .map(|(a, b)| a ^ b)
            .collect();
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(proof),
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        // Our own final message has the shape the server expects.
        let reply = s.client_final(server_first).unwrap();
        assert!(
            reply.starts_with("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYD"),
            "{reply}"
        );
        assert!(reply.contains(",p="), "{reply}");
    }
}
