//! The monitoring component (k8s/components/monitoring; docs/runbook.md): every metric its alert
//! rules and Grafana dashboard query is one the service exports, and the dashboard charts every
//! metric it exports. That each rule parses is `promtool check rules`'s part
//! (k8s/components/monitoring/check.sh, which also parses the dashboard's queries).

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::Value;

use crate::common::*;

const RULES: &str = "k8s/components/monitoring/prometheusrule.yaml";
const DASHBOARD: &str = "k8s/components/monitoring/token-service-dashboard.json";

/// The suffixes a sample's name adds to its family's in the exposition (OpenMetrics).
const SUFFIXES: [&str; 5] = ["_total", "_bucket", "_sum", "_count", "_created"];

/// The `expr:` values of a PrometheusRule (plain, quoted, or `|` / `>` block scalars), and the
/// names its `record:` rules define.
fn rule_expressions(yaml: &str) -> (Vec<String>, BTreeSet<String>) {
    let lines: Vec<&str> = yaml.lines().collect();
    let (mut exprs, mut recorded) = (Vec::new(), BTreeSet::new());
    for (n, line) in lines.iter().enumerate() {
        let content = line.trim_start().trim_start_matches("- ");
        if let Some(name) = content.strip_prefix("record:") {
            recorded.insert(name.trim().to_owned());
        }
        let Some(value) = content.strip_prefix("expr:") else {
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        let value = value.trim();
        if value.starts_with('|') || value.starts_with('>') {
            let block: Vec<&str> = lines[n + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                .map(|l| l.trim())
                .collect();
            exprs.push(block.join("\n"));
        } else {
            exprs.push(value.trim_matches(['\'', '"']).to_owned());
        }
    }
    (exprs, recorded)
}

/// The PromQL of a Grafana dashboard: its panels' `expr`, and its variables' queries.
fn dashboard_expressions(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::String(s) if matches!(key.as_str(), "expr" | "query" | "definition") => {
                        out.push(s.clone());
                    }
                    _ => dashboard_expressions(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| dashboard_expressions(v, out)),
        _ => {}
    }
}

/// The `token_service` metric names (`token_service_…`, and recorded `token_service:…`) an
/// expression uses, outside its string literals (label values); and whether its brackets
/// balance.
fn metric_names(expr: &str) -> (BTreeSet<String>, bool) {
    let (mut names, mut open) = (BTreeSet::new(), Vec::new());
    let mut balanced = true;
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                while let Some(d) = chars.next() {
                    if d == '\\' && c != '`' {
                        chars.next();
                    } else if d == c {
                        break;
                    }
                }
            }
            '(' | '{' | '[' => open.push(c),
            ')' | '}' | ']' => {
                let expected = match c {
                    ')' => '(',
                    '}' => '{',
                    _ => '[',
                };
                balanced &= open.pop() == Some(expected);
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let mut word = String::from(c);
                while let Some(&d) = chars.peek() {
                    if !(d.is_ascii_alphanumeric() || d == '_' || d == ':') {
                        break;
                    }
                    word.push(d);
                    chars.next();
                }
                if word.starts_with("token_service_") || word.starts_with("token_service:") {
                    names.insert(word);
                }
            }
            c if c.is_ascii_digit() => {
                // A number or a duration (`5m`, `1.024`): not a name.
                while chars
                    .peek()
                    .is_some_and(|d| d.is_ascii_alphanumeric() || *d == '.')
                {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    (names, balanced && open.is_empty())
}

/// The sample names and metric families of a running instance's `/metrics`, after requests
/// that give every labelled family a series: a token, an error, and so a route's latency.
async fn exported() -> (BTreeSet<String>, BTreeSet<String>, String) {
    let app = TestApp::new();
    let issued = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text());
    app.post_form("/token", &[("grant_type", "nonsense")], None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let response = app.get("/metrics").await;
    assert_eq!(response.status, StatusCode::OK);
    let text = response.text();
    let samples = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect();
    let families = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_owned)
        .collect();
    (samples, families, text)
}

#[test]
fn rule_and_dashboard_expressions_are_read_whole() {
    let yaml = "  - record: a:b\n    expr: |\n      sum(\n        x)\n\n  - alert: A\n    expr: 'y > 1'\n    for: 5m\n";
    let (exprs, recorded) = rule_expressions(yaml);
    assert_eq!(exprs, ["sum(\nx)\n", "y > 1"]);
    assert_eq!(recorded, BTreeSet::from(["a:b".to_owned()]));
    let (names, balanced) = metric_names(
        r#"sum by (le) (rate(token_service_x_bucket{route="token_service_not_a_name",le="1.024"}[5m])) / token_service:y:rate5m"#,
    );
    assert!(balanced);
    assert_eq!(
        names,
        BTreeSet::from([
            "token_service_x_bucket".into(),
            "token_service:y:rate5m".into()
        ])
    );
    assert!(!metric_names("sum(rate(token_service_x[5m])").1);
    assert!(!metric_names("sum(token_service_x})").1);
}

#[tokio::test]
async fn monitoring_queries_name_only_exported_metrics() {
    let (samples, families, text) = exported().await;
    assert!(
        families.contains("token_service_http_requests"),
        "{families:?}"
    );

    let yaml = std::fs::read_to_string(repo_path(RULES)).unwrap();
    let (rule_exprs, recorded) = rule_expressions(&yaml);
    let rules = yaml
        .lines()
        .map(|l| l.trim_start().trim_start_matches("- "))
        .filter(|l| l.starts_with("alert:") || l.starts_with("record:"))
        .count();
    assert_eq!(rule_exprs.len(), rules, "one expr per rule in {RULES}");

    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path(DASHBOARD)).unwrap()).unwrap();
    let mut dashboard_exprs = Vec::new();
    dashboard_expressions(&dashboard, &mut dashboard_exprs);
    assert!(dashboard_exprs.len() > 10, "{dashboard_exprs:?}");

    let mut charted = BTreeSet::new();
    for (file, exprs) in [(RULES, &rule_exprs), (DASHBOARD, &dashboard_exprs)] {
        for expr in exprs {
            let (names, balanced) = metric_names(expr);
            assert!(balanced, "{file}: unbalanced brackets in {expr}");
            // A bucket the expression picks (the SLO's `le="1.024"`) is one the histogram has.
            for bound in expr.split("le=\"").skip(1) {
                let bound = bound.split('"').next().unwrap_or_default();
                assert!(
                    text.contains(&format!("le=\"{bound}\"")),
                    "{file}: no histogram bucket le=\"{bound}\" in\n{text}"
                );
            }
            for name in names {
                if name.contains(':') {
                    assert!(
                        recorded.contains(&name),
                        "{file}: {name} is recorded by no rule of {RULES}"
                    );
                } else {
                    assert!(
                        samples.contains(&name),
                        "{file}: {name} is not exported; /metrics has {samples:?}"
                    );
                }
                if file == DASHBOARD {
                    charted.insert(name);
                }
            }
        }
    }
    for family in &families {
        let shown = charted.iter().any(|name| {
            name == family
                || name
                    .strip_prefix(family.as_str())
                    .is_some_and(|suffix| SUFFIXES.contains(&suffix))
        });
        assert!(shown, "{DASHBOARD}: no panel shows {family}");
    }
}
