//! Writes the built-in documents for a sample invoice into a folder, to look at them:
//! `cargo run -p reckon-documents --example sample -- /tmp/reckon-docs [lines]`.

#[path = "../tests/fixture/mod.rs"]
mod fixture;

use reckon_documents::{Format, TemplateKind, Templates};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "/tmp/reckon-docs".into()));
    let lines: u32 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(0);
    std::fs::create_dir_all(&dir)?;
    let data = if lines > 0 {
        fixture::long_invoice(lines)
    } else {
        fixture::invoice()
    };
    let templates = Templates::new();
    let documents = [
        ("default_invoice", TemplateKind::Invoice, data),
        (
            "default_credit_memo",
            TemplateKind::CreditMemo,
            fixture::credit_memo(),
        ),
        (
            "default_statement",
            TemplateKind::Statement,
            fixture::statement(),
        ),
    ];
    for (name, kind, data) in &documents {
        for format in [Format::Html, Format::Pdf, Format::Json] {
            let bytes = templates.render(name, *kind, data, format)?;
            let path = dir.join(format!("{name}.{}", format.extension()));
            std::fs::write(&path, bytes)?;
            println!("{}", path.display());
        }
    }
    Ok(())
}
