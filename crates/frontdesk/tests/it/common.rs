//! What several test modules share: the `frontdesk` binary as a command with a clean
//! environment, and `frontdesk serve` as a child process on a free port.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub fn frontdesk(data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
    c.env_remove("FRONTDESK_DATABASE_URL")
        .env_remove("FRONTDESK_METRICS_TOKEN")
        .env_remove("FRONTDESK_LOG_FORMAT")
        .env("FRONTDESK_DATA_DIR", data_dir)
        .env("FRONTDESK_LOG", "warn");
    c
}

pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A `frontdesk serve` child process on port 0; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(data: &Path) -> Server {
        Self::spawn(frontdesk(data).stderr(Stdio::null()), &[])
    }

    /// Runs `cmd` (a `frontdesk` command whose stderr the caller chose) as `serve` with
    /// `extra` arguments.
    pub fn spawn(cmd: &mut Command, extra: &[&str]) -> Server {
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut base = None;
        for _ in 0..10 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if let Some(rest) = line.trim().strip_prefix("Frontdesk is running at ") {
                base = Some(rest.trim_end_matches('/').to_string());
                break;
            }
        }
        std::thread::spawn(move || for _ in reader.lines() {});
        Server {
            child,
            base: base.expect("serve printed its address"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
