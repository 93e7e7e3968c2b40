//! Reading `google.api.http` rules off the method options into validated bindings.

use http::Method;
use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MethodDescriptor};

use crate::template::Template;

const HTTP_EXTENSION: &str = "google.api.http";

/// A rule that cannot be served, named by method and rule.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The rule itself is wrong (bad template, unknown field, missing pattern...).
    #[error("{method}: HTTP rule `{rule}`: {problem}")]
    Invalid {
        /// Full gRPC method name (`pkg.Service.Method`).
        method: String,
        /// The rule as `VERB /path`, or the field that is wrong.
        rule: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Two rules claim the same HTTP method and path.
    #[error("{first} and {second} both bind `{rule}`")]
    Conflict {
        /// The method bound first.
        first: String,
        /// The method that clashes with it.
        second: String,
        /// The contested `VERB /path`.
        rule: String,
    },
}

/// One HTTP binding, for docs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingInfo {
    /// HTTP method (`GET`, `POST`, or a custom one).
    pub http_method: Method,
    /// The path template as written in the rule (`/api/phones/{phone_id}`).
    pub path: String,
    /// Full gRPC method name, `package.Service.Method`.
    pub grpc_method: String,
    /// The rule's `body` (`""`, `"*"` or a field name).
    pub body: String,
    /// Server streaming methods are served as Server-Sent Events.
    pub server_streaming: bool,
}

/// Where the request body goes.
#[derive(Debug, Clone)]
pub(crate) enum BodyRule {
    /// No body: fields not in the path come from query parameters.
    None,
    /// `body: "*"`: the whole request message (minus path fields).
    Whole,
    /// `body: "field"`: one top-level field; the rest from query parameters.
    Field(FieldDescriptor),
}

#[derive(Debug, Clone)]
pub(crate) struct Binding {
    pub method: MethodDescriptor,
    pub http_method: Method,
    pub path: String,
    pub template: Template,
    /// Field chain of each template variable, in `template.variables` order.
    pub path_fields: Vec<Vec<FieldDescriptor>>,
    pub body: BodyRule,
    pub response_body: Option<FieldDescriptor>,
    /// `/package.Service/Method`.
    pub grpc_path: String,
    /// Method name, suffixed `_N` for the N-th additional binding (unique operationIds).
    pub operation_id: String,
    /// Position in declaration order (routing sorts by specificity; docs keep this).
    pub declared: usize,
}

impl Binding {
    pub fn rule_name(&self) -> String {
        format!("{} {}", self.http_method, self.path)
    }

    pub fn info(&self) -> BindingInfo {
        BindingInfo {
            http_method: self.http_method.clone(),
            path: self.path.clone(),
            grpc_method: self.method.full_name().to_string(),
            body: match &self.body {
                BodyRule::None => String::new(),
                BodyRule::Whole => "*".into(),
                BodyRule::Field(f) => f.name().to_string(),
            },
            server_streaming: self.method.is_server_streaming(),
        }
    }
}

/// Every binding of every method in the pool that carries a rule.
pub(crate) fn read_bindings(pool: &DescriptorPool) -> Result<Vec<Binding>, RuleError> {
    let Some(ext) = pool.get_extension_by_name(HTTP_EXTENSION) else {
        return Ok(Vec::new());
    };
    let mut bindings = Vec::new();
    for service in pool.services() {
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&ext) {
                continue;
            }
            let value = options.get_extension(&ext);
            let Some(rule) = value.as_message() else {
                continue;
            };
            let invalid = |rule: &str, problem: &str| RuleError::Invalid {
                method: method.full_name().to_string(),
                rule: rule.to_string(),
                problem: problem.to_string(),
            };
            if method.is_client_streaming() {
                return Err(invalid(
                    "",
                    "client streaming methods cannot be served over REST",
                ));
            }
            bindings.push(read_one(&method, rule, 0, bindings.len())?);
            let extra = rule.get_field_by_name("additional_bindings");
            for (i, nested) in extra
                .as_deref()
                .and_then(|v| v.as_list())
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let Some(nested) = nested.as_message() else {
                    continue;
                };
                let binding = read_one(&method, nested, i + 1, bindings.len())?;
                let inner = nested.get_field_by_name("additional_bindings");
                if inner
                    .as_deref()
                    .and_then(|v| v.as_list())
                    .is_some_and(|l| !l.is_empty())
                {
                    return Err(invalid(
                        &binding.rule_name(),
                        "additional_bindings cannot nest",
                    ));
                }
                bindings.push(binding);
            }
        }
    }
    Ok(bindings)
}

fn string_field(msg: &DynamicMessage, name: &str) -> String {
    msg.get_field_by_name(name)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn read_one(
    method: &MethodDescriptor,
    rule: &DynamicMessage,
    index: usize,
    declared: usize,
) -> Result<Binding, RuleError> {
    let method_name = method.full_name().to_string();
    let mut pattern = None;
    for (name, verb) in [
        ("get", Method::GET),
        ("put", Method::PUT),
        ("post", Method::POST),
        ("delete", Method::DELETE),
        ("patch", Method::PATCH),
    ] {
        if rule.has_field_by_name(name) {
            pattern = Some((verb, string_field(rule, name)));
        }
    }
    if rule.has_field_by_name("custom")
        && let Some(custom) = rule
            .get_field_by_name("custom")
            .and_then(|v| v.as_message().cloned())
    {
        let kind = string_field(&custom, "kind");
        let verb = Method::from_bytes(kind.as_bytes()).map_err(|_| RuleError::Invalid {
            method: method_name.clone(),
            rule: format!("custom {kind}"),
            problem: "bad custom HTTP method".into(),
        })?;
        pattern = Some((verb, string_field(&custom, "path")));
    }
    let (http_method, path) = pattern.ok_or_else(|| RuleError::Invalid {
        method: method_name.clone(),
        rule: String::new(),
        problem: "no HTTP method and path (get, post, ... or custom)".into(),
    })?;
    let rule_name = format!("{http_method} {path}");
    let invalid = |problem: String| RuleError::Invalid {
        method: method_name.clone(),
        rule: rule_name.clone(),
        problem,
    };
    let template =
        Template::parse(&path).map_err(|p| invalid(format!("bad path template: {p}")))?;
    let input = method.input();
    let mut path_fields = Vec::new();
    for var in &template.variables {
        let mut chain: Vec<FieldDescriptor> = Vec::new();
        let mut message = input.clone();
        for (i, name) in var.field_path.iter().enumerate() {
            let dotted = var.field_path.join(".");
            let field = message.get_field_by_name(name).ok_or_else(|| {
                invalid(format!(
                    "path variable `{dotted}`: no field `{name}` in {}",
                    message.full_name()
                ))
            })?;
            let last = i + 1 == var.field_path.len();
            match field.kind() {
                _ if field.is_list() || field.is_map() => {
                    return Err(invalid(format!(
                        "path variable `{dotted}` is a repeated field"
                    )));
                }
                Kind::Message(m) if !last => message = m,
                Kind::Message(_) => {
                    return Err(invalid(format!(
                        "path variable `{dotted}` is a message field"
                    )));
                }
                _ if !last => {
                    return Err(invalid(format!(
                        "path variable `{dotted}`: `{name}` is not a message"
                    )));
                }
                _ => {}
            }
            chain.push(field);
        }
        path_fields.push(chain);
    }
    let body_name = string_field(rule, "body");
    let body = match body_name.as_str() {
        "" => BodyRule::None,
        "*" => BodyRule::Whole,
        name => {
            let field = input.get_field_by_name(name).ok_or_else(|| {
                invalid(format!("body: no field `{name}` in {}", input.full_name()))
            })?;
            if path_fields.iter().any(|chain| chain[0] == field) {
                return Err(invalid(format!(
                    "body field `{name}` is also a path variable"
                )));
            }
            BodyRule::Field(field)
        }
    };
    let response_name = string_field(rule, "response_body");
    let response_body = match response_name.as_str() {
        "" => None,
        name => Some(method.output().get_field_by_name(name).ok_or_else(|| {
            invalid(format!(
                "response_body: no field `{name}` in {}",
                method.output().full_name()
            ))
        })?),
    };
    Ok(Binding {
        method: method.clone(),
        http_method,
        path,
        template,
        path_fields,
        body,
        response_body,
        grpc_path: format!("/{}/{}", method.parent_service().full_name(), method.name()),
        operation_id: match index {
            0 => method.name().to_string(),
            n => format!("{}_{n}", method.name()),
        },
        declared,
    })
}

/// Rejects two bindings of one HTTP method on one route shape, and routes matchit (and
/// so axum, which would panic) refuses.
pub(crate) fn check_conflicts(bindings: &[Binding]) -> Result<(), RuleError> {
    let mut router = matchit::Router::new();
    let mut seen: Vec<(&Method, String, &Binding)> = Vec::new();
    let mut inserted: Vec<String> = Vec::new();
    for b in bindings {
        let route = b.template.route();
        if let Some((_, _, first)) = seen
            .iter()
            .find(|(m, r, _)| **m == b.http_method && *r == route)
        {
            return Err(RuleError::Conflict {
                first: first.method.full_name().to_string(),
                second: b.method.full_name().to_string(),
                rule: b.rule_name(),
            });
        }
        for extra in b.template.routes() {
            if !inserted.contains(&extra)
                && let Err(err) = router.insert(extra.clone(), ())
            {
                return Err(RuleError::Invalid {
                    method: b.method.full_name().to_string(),
                    rule: b.rule_name(),
                    problem: format!("path clashes with another rule: {err}"),
                });
            }
            inserted.push(extra);
        }
        seen.push((&b.http_method, route, b));
    }
    Ok(())
}
