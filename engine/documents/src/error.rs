//! The crate's one error type.

use crate::TemplateKind;

/// Why a document could not be rendered. Every variant names the template it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// Rendering the template failed: an unknown variable (strict undefined), a filter given a
    /// value it cannot format, a runtime error in the template. `line` is the template line.
    #[error("render_failed: template `{template}`{}: {message}", line_suffix(*.line))]
    RenderFailed {
        /// The template being rendered.
        template: String,
        /// The 1-based line in the template source, when known.
        line: Option<usize>,
        /// What went wrong.
        message: String,
    },
    /// No built-in or registered template has this name.
    #[error("unknown_template: no template named `{template}`")]
    UnknownTemplate {
        /// The name asked for.
        template: String,
    },
    /// The template exists but is of another kind than the document asks for.
    #[error("template_kind_mismatch: template `{template}` is a {found} template, not {expected}")]
    TemplateKindMismatch {
        /// The template asked for.
        template: String,
        /// The kind the caller needs.
        expected: TemplateKind,
        /// The kind the template was registered with.
        found: TemplateKind,
    },
    /// A template could not be registered: its source does not compile, or its name is a
    /// built-in's (`default_<kind>` templates always exist and cannot be replaced).
    #[error("invalid_template: template `{template}`{}: {message}", line_suffix(*.line))]
    InvalidTemplate {
        /// The template being registered.
        template: String,
        /// The 1-based line of a syntax error, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

fn line_suffix(line: Option<usize>) -> String {
    match line {
        Some(line) => format!(" line {line}"),
        None => String::new(),
    }
}

impl DocumentError {
    /// The snake_case error code (`render_failed`, `unknown_template`,
    /// `template_kind_mismatch`, `invalid_template`).
    pub fn code(&self) -> &'static str {
        match self {
            DocumentError::RenderFailed { .. } => "render_failed",
            DocumentError::UnknownTemplate { .. } => "unknown_template",
            DocumentError::TemplateKindMismatch { .. } => "template_kind_mismatch",
            DocumentError::InvalidTemplate { .. } => "invalid_template",
        }
    }

    /// The template the error is about.
    pub fn template(&self) -> &str {
        match self {
            DocumentError::RenderFailed { template, .. }
            | DocumentError::UnknownTemplate { template }
            | DocumentError::TemplateKindMismatch { template, .. }
            | DocumentError::InvalidTemplate { template, .. } => template,
        }
    }

    /// The template line the error is about, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            DocumentError::RenderFailed { line, .. }
            | DocumentError::InvalidTemplate { line, .. } => *line,
            _ => None,
        }
    }
}
