//! `gracefulctl render`: deployment snippets from tera templates embedded in
//! the binary. The templates only lay out values; every value is validated
//! before it gets here and quoted by a filter for its format.

use crate::arch::Arch;
use crate::build::Flavour;
use crate::settings::{EnvVar, Settings};
use clap::ValueEnum;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use tera::{Context, Tera, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// AWS SAM template: the layer (AWS::Serverless::LayerVersion) and a function using it.
    Sam,
    /// CloudFormation template: layer, function and its role; zips come from S3 parameters.
    Cloudformation,
    /// Terraform (HCL): aws_lambda_layer_version, aws_lambda_function and its role.
    Terraform,
    /// Shell commands: create the layer zip, aws lambda publish-layer-version,
    /// aws lambda update-function-configuration.
    Zip,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::Sam,
        Format::Cloudformation,
        Format::Terraform,
        Format::Zip,
    ];

    fn template(self) -> (&'static str, &'static str) {
        match self {
            Format::Sam => ("sam.yaml", include_str!("../templates/sam.yaml.tera")),
            Format::Cloudformation => (
                "cloudformation.yaml",
                include_str!("../templates/cloudformation.yaml.tera"),
            ),
            Format::Terraform => (
                "terraform.tf",
                include_str!("../templates/terraform.tf.tera"),
            ),
            Format::Zip => ("zip.sh", include_str!("../templates/zip.sh.tera")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Sam => "sam",
            Format::Cloudformation => "cloudformation",
            Format::Terraform => "terraform",
            Format::Zip => "zip",
        }
    }
}

/// The layer a snippet attaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Layer {
    /// Already published.
    Arn { arn: String },
    /// Published by the snippet from a zip written by `create-extension`.
    Zip {
        path: String,
        /// The zip's file name, the default S3 key in CloudFormation.
        file_name: String,
        name: String,
    },
}

impl Layer {
    /// A layer published from `path` (default `graceful-shutdown-<arch>.zip`,
    /// or `graceful-shutdown-handoff-<arch>.zip` for the handoff flavour)
    /// under `name` (default: that file name without `.zip`).
    pub fn zip(arch: Arch, flavour: Flavour, path: Option<String>, name: Option<String>) -> Self {
        let default_zip = default_layer_zip(arch, flavour);
        let path = path.unwrap_or_else(|| default_zip.clone());
        Layer::Zip {
            file_name: file_name(&path),
            path,
            name: name.unwrap_or_else(|| {
                default_zip
                    .strip_suffix(".zip")
                    .unwrap_or(&default_zip)
                    .to_owned()
            }),
        }
    }
}

/// The zip `create-extension` writes when not told otherwise: the name the
/// CDK construct's package gives the flavour's prebuilt zip (`spec/layer.json`).
pub fn default_layer_zip(arch: Arch, flavour: Flavour) -> String {
    flavour.zip_name(arch)
}

/// Everything a template may use.
#[derive(Debug, Clone, Serialize)]
pub struct Snippet {
    pub arch: Arch,
    /// The handoff flavour: `--handoff` in the `create-extension` command and
    /// in the layer's description.
    pub handoff: bool,
    pub layer: Layer,
    /// The published layer's description: `graceful-shutdown extension (<arch>)`,
    /// with `, handoff` after the architecture for that flavour.
    pub layer_description: String,
    pub settings_env: Vec<EnvVar>,
    /// Length of the longest variable name, to align `=` as `terraform fmt` does.
    pub env_name_width: usize,
    /// `NAME=value,NAME=value`, the AWS CLI's shorthand for a map.
    pub env_csv: String,
    pub port: u16,
    pub timeout_ms: u32,
    pub metrics: bool,
    pub function_name: String,
    pub function_code: String,
    pub function_code_file_name: String,
    pub runtime: String,
    pub handler: String,
}

impl Snippet {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        arch: Arch,
        flavour: Flavour,
        layer: Layer,
        settings: Settings,
        function_name: String,
        function_code: String,
        runtime: String,
        handler: String,
    ) -> Self {
        Snippet {
            arch,
            handoff: flavour == Flavour::Handoff,
            layer,
            layer_description: match flavour {
                Flavour::Default => format!("graceful-shutdown extension ({arch})"),
                Flavour::Handoff => format!("graceful-shutdown extension ({arch}, handoff)"),
            },
            settings_env: settings.env_vars(),
            env_name_width: settings
                .env_vars()
                .iter()
                .map(|v| v.name.len())
                .max()
                .unwrap_or(0),
            env_csv: settings
                .env_vars()
                .iter()
                .map(|v| format!("{}={}", v.name, v.value))
                .collect::<Vec<_>>()
                .join(","),
            port: settings.port,
            timeout_ms: settings.timeout_ms,
            metrics: settings.metrics == crate::settings::Metrics::Emf,
            function_name,
            function_code_file_name: file_name(&function_code),
            function_code,
            runtime,
            handler,
        }
    }
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}

/// Renders `snippet` in `format`. An error here is a defect of a template,
/// not of the input.
pub fn render(format: Format, snippet: &Snippet) -> tera::Result<String> {
    let (name, source) = format.template();
    let mut tera = Tera::default();
    tera.autoescape_on(vec![]);
    tera.register_filter("yaml", filter(yaml_string));
    tera.register_filter("hcl", filter(hcl_string));
    tera.register_filter("sh", filter(shell_word));
    tera.register_filter("pad", pad);
    tera.add_raw_template(name, source)?;
    let mut text = tera.render(name, &Context::from_serialize(snippet)?)?;
    // Templates end without a newline (tera drops the last one); files end with one.
    text.truncate(text.trim_end().len());
    text.push('\n');
    Ok(text)
}

fn filter(
    quote: fn(&str) -> String,
) -> impl Fn(&Value, &HashMap<String, Value>) -> tera::Result<Value> + Send + Sync {
    move |value, _| {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Ok(Value::String(quote(&text)))
    }
}

/// `pad(width=N)`: the text followed by spaces up to N characters.
fn pad(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let text = value.as_str().unwrap_or_default();
    let width = args.get("width").and_then(Value::as_u64).unwrap_or(0) as usize;
    Ok(Value::String(format!("{text:<width$}")))
}

/// A double-quoted YAML scalar: JSON string syntax is valid YAML.
pub fn yaml_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// A quoted HCL string: JSON escapes, plus `${` and `%{` doubled so that
/// Terraform does not read them as interpolation.
pub fn hcl_string(s: &str) -> String {
    yaml_string(s).replace("${", "$${").replace("%{", "%%{")
}

/// One shell word: single-quoted unless it is made only of safe characters.
pub fn shell_word(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+".contains(c));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_per_format() {
        assert_eq!(yaml_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(hcl_string("dir/${x}/%{y}"), r#""dir/$${x}/%%{y}""#);
        assert_eq!(
            shell_word("graceful-shutdown-arm64.zip"),
            "graceful-shutdown-arm64.zip"
        );
        assert_eq!(shell_word("my layer's.zip"), r"'my layer'\''s.zip'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn default_layer_follows_the_architecture() {
        assert_eq!(
            Layer::zip(Arch::X86_64, Flavour::Default, None, None),
            Layer::Zip {
                path: "graceful-shutdown-x86_64.zip".into(),
                file_name: "graceful-shutdown-x86_64.zip".into(),
                name: "graceful-shutdown-x86_64".into(),
            }
        );
        assert_eq!(
            Layer::zip(Arch::Arm64, Flavour::Handoff, None, None),
            Layer::Zip {
                path: "graceful-shutdown-handoff-arm64.zip".into(),
                file_name: "graceful-shutdown-handoff-arm64.zip".into(),
                name: "graceful-shutdown-handoff-arm64".into(),
            }
        );
    }
}
