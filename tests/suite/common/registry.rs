//! Debian's docker-registry (the CNCF distribution registry), started on a free loopback port
//! for one test, optionally behind htpasswd basic auth. Stopped when dropped.

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct LocalRegistry {
    pub url: String,
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl LocalRegistry {
    /// `auth`: Some((user, password)) puts the registry behind htpasswd.
    pub fn start(auth: Option<(&str, &str)>) -> LocalRegistry {
        let binary = "/usr/bin/docker-registry";
        assert!(
            std::path::Path::new(binary).exists(),
            "{binary} is missing: apt-get install docker-registry apache2-utils (.ci/run does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((user, password)) = auth {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("htpasswd (apache2-utils) runs");
            assert!(out.status.success());
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, out.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: shipit-test\n    path: {}\n",
                file.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        LocalRegistry {
            url: format!("http://127.0.0.1:{port}"),
            port,
            child,
            _dir: dir,
        }
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
