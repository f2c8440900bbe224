//! The deploy.yaml a test writes, built from what every test needs (the app, the image, one
//! subnet, the execution role) and the keys the test sets, so that each test says only what
//! is particular to it.

#![allow(dead_code)]

/// A deploy.yaml: `Config::new("api", "docker://api:1").service("desired_count: 0")`, written
/// with `to_string()`. Each setter takes YAML as it stands under its section (a key per line,
/// nested keys indented by two spaces more); the section's indent is added here.
#[derive(Debug, Clone)]
pub struct Config {
    app: String,
    source: String,
    tag: String,
    subnets: String,
    top: Vec<String>,
    repository: Vec<String>,
    image: Vec<String>,
    service: Vec<String>,
    task: Vec<String>,
    container: Option<Vec<String>>,
    logs: Vec<String>,
    rest: Vec<String>,
}

impl Config {
    pub fn new(app: &str, source: &str) -> Config {
        Config {
            app: app.to_string(),
            source: source.to_string(),
            tag: "v1".to_string(),
            subnets: "[subnet-0123456789abcdef0]".to_string(),
            top: Vec::new(),
            repository: Vec::new(),
            image: Vec::new(),
            service: Vec::new(),
            task: Vec::new(),
            container: None,
            logs: Vec::new(),
            rest: Vec::new(),
        }
    }

    pub fn tag(mut self, tag: &str) -> Config {
        self.tag = tag.to_string();
        self
    }

    pub fn subnets(mut self, subnets: &str) -> Config {
        self.subnets = subnets.to_string();
        self
    }

    /// A top-level key between `image:` and `service:` (`cluster: NAME`).
    pub fn top(mut self, yaml: &str) -> Config {
        self.top.push(yaml.to_string());
        self
    }

    pub fn repository(mut self, yaml: &str) -> Config {
        self.repository.push(yaml.to_string());
        self
    }

    pub fn image(mut self, yaml: &str) -> Config {
        self.image.push(yaml.to_string());
        self
    }

    pub fn service(mut self, yaml: &str) -> Config {
        self.service.push(yaml.to_string());
        self
    }

    pub fn task(mut self, yaml: &str) -> Config {
        self.task.push(yaml.to_string());
        self
    }

    /// The `container:` section (present, and empty, once this is called with "").
    pub fn container(mut self, yaml: &str) -> Config {
        let lines = self.container.get_or_insert_with(Vec::new);
        if !yaml.is_empty() {
            lines.push(yaml.to_string());
        }
        self
    }

    pub fn logs(mut self, yaml: &str) -> Config {
        self.logs.push(yaml.to_string());
        self
    }

    /// Top-level YAML after every section (`hooks:` and the like), as written.
    pub fn then(mut self, yaml: &str) -> Config {
        self.rest.push(yaml.to_string());
        self
    }
}

/// `yaml`'s lines under a section: indented by two spaces.
fn indented(out: &mut String, yaml: &[String]) {
    for line in yaml.iter().flat_map(|y| y.lines()) {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
}

impl std::fmt::Display for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = format!("app: {}\nregion: us-east-1\n", self.app);
        if !self.repository.is_empty() {
            out.push_str("repository:\n");
            indented(&mut out, &self.repository);
        }
        out.push_str("image:\n");
        let mut image = vec![
            format!("source: {}", self.source),
            format!("tag: {}", self.tag),
        ];
        image.extend(self.image.iter().cloned());
        indented(&mut out, &image);
        for line in self.top.iter().flat_map(|y| y.lines()) {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("service:\n");
        let mut service = self.service.clone();
        service.push(format!("subnets: {}", self.subnets));
        indented(&mut out, &service);
        out.push_str("task:\n");
        let mut task = self.task.clone();
        task.push("execution_role: arn:aws:iam::000000000000:role/ecsTaskExecutionRole".into());
        indented(&mut out, &task);
        if let Some(container) = &self.container {
            out.push_str("container:\n");
            indented(&mut out, container);
        }
        if !self.logs.is_empty() {
            out.push_str("logs:\n");
            indented(&mut out, &self.logs);
        }
        for yaml in &self.rest {
            out.push_str(yaml);
            if !yaml.ends_with('\n') {
                out.push('\n');
            }
        }
        f.write_str(&out)
    }
}

#[test]
fn a_config_is_the_common_keys_and_the_tests_own() {
    let text = Config::new("api", "docker://api:1")
        .top("cluster: c")
        .service("desired_count: 0")
        .service("autoscaling:\n  min: 1")
        .container("command: [sleep, '1']")
        .to_string();
    assert_eq!(
        text,
        "app: api\nregion: us-east-1\nimage:\n  source: docker://api:1\n  tag: v1\ncluster: c\nservice:\n  desired_count: 0\n  autoscaling:\n    min: 1\n  subnets: [subnet-0123456789abcdef0]\ntask:\n  execution_role: arn:aws:iam::000000000000:role/ecsTaskExecutionRole\ncontainer:\n  command: [sleep, '1']\n"
    );
}
