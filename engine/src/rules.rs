//! Rule loading: a folder of YAML files (or inline documents) → one validated [`RuleSet`].
//!
//! Every error carries its file, line, column, field path, what was found and what is allowed,
//! and loading reports all of them, not just the first.

use crate::model::*;
use crate::schema::Finding;
use crate::schema_tables::{document, DOCUMENTS};
use crate::yaml::{self, Node, Pos};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

mod invoicing;
mod plans;
mod revenue;
mod usage;

/// One rule error: `file:line:col: code: path: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// Error code (`unknown_key`, `bad_value`, `missing_key`, `duplicate_name`, …).
    pub code: &'static str,
    /// The file it is in.
    pub file: String,
    /// Line and column.
    pub pos: Pos,
    /// Field path (`products[3].billing_rule`).
    pub path: String,
    /// What was found.
    pub found: String,
    /// What is allowed there.
    pub allowed: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}: found {}, expected {}",
            self.file, self.pos.line, self.pos.col, self.code, self.path, self.found, self.allowed
        )
    }
}

impl RuleError {
    fn from_finding(file: &str, f: Finding) -> Self {
        RuleError {
            code: f.code,
            file: file.to_string(),
            pos: f.pos,
            path: f.path,
            found: f.found,
            allowed: f.allowed,
        }
    }

    /// A semantic error at a node.
    pub fn at(
        code: &'static str,
        file: &str,
        node: &Node,
        path: String,
        found: String,
        allowed: String,
    ) -> Self {
        RuleError {
            code,
            file: file.to_string(),
            pos: node.pos,
            path,
            found,
            allowed,
        }
    }
}

/// A row of a list document with where it came from.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    /// The file.
    pub file: String,
    /// The row's position.
    pub pos: Pos,
    /// The row.
    pub value: T,
}

/// The validated, merged rules of a folder.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// Billing preferences by name.
    pub preferences: BTreeMap<String, BillingPreference>,
    /// Payment terms by name.
    pub payment_terms: BTreeMap<String, PaymentTerm>,
    /// Products by code.
    pub products: BTreeMap<String, Product>,
    /// System properties.
    pub system: System,
    /// Accounts declared in the rules folder (demo data, scenarios).
    pub accounts: Vec<Account>,
    /// Legal entities declared in the rules folder.
    pub legal_entities: Vec<LegalEntity>,
    /// Orders declared in the rules folder.
    pub orders: Vec<Order>,
    /// The `callbacks` map (07 §2), key by key, with the file each key came from (plugin paths are
    /// relative to it) and its YAML node (positions of nested keys for load errors).
    pub callbacks: BTreeMap<String, Sourced<Node>>,
    /// Domain documents owned by later specs (03–06), row by row.
    pub documents: BTreeMap<String, Vec<Sourced<serde_yaml::Value>>>,
    /// The `templates` rows by name, bodies read and compiled (04 §2.4).
    pub templates: BTreeMap<String, TemplateDef>,
}

/// A custom template (04 §2.4 `templates` row) with its body read: a `body` that is a path
/// (one line, no blanks, no `{` or `<`, ending in an extension) is read relative to the rule
/// file that holds the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateDef {
    /// Unique name.
    pub name: String,
    /// `invoice`, `credit_memo`, `statement`, `invoice_email`, `credit_memo_email`.
    pub kind: String,
    /// The template text.
    pub body: String,
    /// The subject template (e-mail kinds).
    pub subject: Option<String>,
    /// The rule file of the row.
    pub file: String,
    /// The row's position.
    pub pos: Pos,
    /// The template file the body was read from, when it was a path.
    pub body_file: Option<String>,
}

impl RuleSet {
    /// The org default preference, if one is marked `default: true`.
    pub fn default_preference(&self) -> Option<&BillingPreference> {
        self.preferences.values().find(|p| p.default)
    }

    /// The default payment term, if one is marked `default: true`.
    pub fn default_payment_term(&self) -> Option<&PaymentTerm> {
        self.payment_terms.values().find(|p| p.default)
    }
}

/// Accumulates documents from any number of files, then validates them as a whole.
#[derive(Default)]
pub struct RuleLoader {
    errors: Vec<RuleError>,
    /// (document, file, row node)
    rows: Vec<(&'static str, String, Node)>,
    /// (document, key, file, key node, value node) for the map documents.
    entries: Vec<(&'static str, String, String, Node, Node)>,
}

impl RuleLoader {
    /// A new, empty loader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a YAML file's text.
    pub fn add_text(&mut self, file: &str, text: &str) {
        match yaml::parse(text) {
            Ok(docs) => {
                for doc in docs {
                    self.add_node(file, &doc);
                }
            }
            Err(e) => self.errors.push(RuleError {
                code: "syntax_error",
                file: file.to_string(),
                pos: e.pos,
                path: String::new(),
                found: "invalid YAML".into(),
                allowed: e.message,
            }),
        }
    }

    /// Add a parsed top-level document (a map of document name → rows).
    pub fn add_node(&mut self, file: &str, doc: &Node) {
        if matches!(doc.kind, yaml::Kind::Null) {
            return;
        }
        let Some(entries) = doc.as_map() else {
            self.errors.push(RuleError::at(
                "bad_value",
                file,
                doc,
                String::new(),
                doc.describe(),
                "a map of rule documents".into(),
            ));
            return;
        };
        for (k, v) in entries {
            let name = k.as_str().unwrap_or_default();
            let Some(spec) = document(name) else {
                let known: Vec<_> = DOCUMENTS.iter().map(|d| d.name).collect();
                self.errors.push(RuleError::at(
                    "unknown_document",
                    file,
                    k,
                    name.to_string(),
                    format!("document `{name}`"),
                    format!("one of {}", known.join(", ")),
                ));
                continue;
            };
            if spec.list {
                match v.as_seq() {
                    Some(items) => {
                        for item in items {
                            self.rows.push((spec.name, file.to_string(), item.clone()));
                        }
                    }
                    None if matches!(v.kind, yaml::Kind::Null) => {}
                    None => self.errors.push(RuleError::at(
                        "bad_value",
                        file,
                        v,
                        name.to_string(),
                        v.describe(),
                        "a list".into(),
                    )),
                }
            } else {
                match v.as_map() {
                    Some(map) => {
                        for (mk, mv) in map {
                            let key = mk.as_str().unwrap_or_default().to_string();
                            self.entries.push((
                                spec.name,
                                key,
                                file.to_string(),
                                mk.clone(),
                                mv.clone(),
                            ));
                        }
                    }
                    None if matches!(v.kind, yaml::Kind::Null) => {}
                    None => self.errors.push(RuleError::at(
                        "bad_value",
                        file,
                        v,
                        name.to_string(),
                        v.describe(),
                        "a map".into(),
                    )),
                }
            }
        }
    }

    /// Add every `*.yaml` / `*.yml` file of a folder (sorted by name; not recursive).
    pub fn add_dir(&mut self, dir: &Path) -> std::io::Result<()> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            })
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f)?;
            self.add_text(&f.display().to_string(), &text);
        }
        Ok(())
    }

    /// Validate everything added and build the rule set, or return every error found.
    pub fn finish(mut self) -> Result<RuleSet, Vec<RuleError>> {
        let mut set = RuleSet::default();
        let refs = invoicing::References::collect(&self.rows, &self.entries);
        // Shape: each row / entry against its schema.
        let mut index: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut valid_rows = Vec::new();
        for (doc, file, node) in std::mem::take(&mut self.rows) {
            let i = index.entry(doc).or_insert(0);
            let path = format!("{doc}[{i}]");
            *i += 1;
            let spec = document(doc).expect("known document");
            let mut findings = Vec::new();
            spec.ty.check(&node, &path, &mut findings);
            if findings.is_empty() {
                valid_rows.push((doc, file, node, path));
            } else {
                self.errors.extend(
                    findings
                        .into_iter()
                        .map(|f| RuleError::from_finding(&file, f)),
                );
            }
        }
        // Duplicate names across all files.
        let mut seen: BTreeMap<(&str, String), (String, Pos)> = BTreeMap::new();
        for (doc, file, node, path) in &valid_rows {
            let Some(key) = document(doc).and_then(|d| d.key) else {
                continue;
            };
            let Some(kn) = node.get(key) else { continue };
            let name = kn.as_str().unwrap_or_default().to_string();
            if let Some((first_file, first_pos)) = seen.get(&(doc, name.clone())) {
                self.errors.push(RuleError::at(
                    "duplicate_name",
                    file,
                    kn,
                    format!("{path}.{key}"),
                    format!("`{name}` again"),
                    format!("a {key} not already used (first at {first_file}:{first_pos})"),
                ));
            } else {
                seen.insert((doc, name), (file.clone(), kn.pos));
            }
        }
        // Map documents: one key once across all files.
        let mut map_seen: BTreeMap<(&str, String), (String, Pos)> = BTreeMap::new();
        let mut system_map = serde_yaml::Mapping::new();
        // 06 §3: `system.default_revenue_policy` is checked against the policies below.
        let default_revenue_policy: Option<(String, Node)> = self
            .entries
            .iter()
            .find(|e| e.0 == "system" && e.1 == "default_revenue_policy")
            .map(|e| (e.2.clone(), e.4.clone()));
        for (doc, key, file, kn, vn) in std::mem::take(&mut self.entries) {
            if let Some((ff, fp)) = map_seen.get(&(doc, key.clone())) {
                self.errors.push(RuleError::at(
                    "duplicate_key",
                    &file,
                    &kn,
                    format!("{doc}.{key}"),
                    format!("`{key}` again"),
                    format!("each key once across files (first at {ff}:{fp})"),
                ));
                continue;
            }
            map_seen.insert((doc, key.clone()), (file.clone(), kn.pos));
            let spec = document(doc).expect("known document");
            let single = Node {
                kind: yaml::Kind::Map(vec![(kn.clone(), vn.clone())]),
                pos: kn.pos,
            };
            let mut findings = Vec::new();
            spec.ty.check(&single, doc, &mut findings);
            if !findings.is_empty() {
                self.errors.extend(
                    findings
                        .into_iter()
                        .map(|f| RuleError::from_finding(&file, f)),
                );
                continue;
            }
            if doc == "system" {
                system_map.insert(key.into(), vn.to_value());
            } else {
                set.callbacks.insert(
                    key,
                    Sourced {
                        file: file.clone(),
                        pos: kn.pos,
                        value: vn.clone(),
                    },
                );
            }
        }
        match serde_yaml::from_value::<System>(serde_yaml::Value::Mapping(system_map)) {
            Ok(s) => set.system = s,
            Err(e) => self.errors.push(internal("system", &e)),
        }
        // Rows the invoicing checks read, with their nodes (positions of nested keys).
        let invoicing_rows: Vec<invoicing::Row> = valid_rows
            .iter()
            .filter(|r| invoicing::CHECKED.contains(&r.0))
            .cloned()
            .collect();
        let plan_rows: Vec<invoicing::Row> = valid_rows
            .iter()
            .filter(|r| plans::CHECKED.contains(&r.0))
            .cloned()
            .collect();
        let revenue_rows: Vec<invoicing::Row> = valid_rows
            .iter()
            .filter(|r| revenue::CHECKED.contains(&r.0))
            .cloned()
            .collect();
        let usage_rows: Vec<invoicing::Row> = valid_rows
            .iter()
            .filter(|r| usage::CHECKED.contains(&r.0))
            .cloned()
            .collect();
        // Typed rows.
        let mut pos_of: BTreeMap<(&str, String), (String, Node)> = BTreeMap::new();
        for (doc, file, node, path) in valid_rows {
            let value = node.to_value();
            let key_name = document(doc)
                .and_then(|d| d.key)
                .and_then(|k| node.get(k))
                .and_then(|n| n.as_str())
                .map(str::to_string);
            macro_rules! typed {
                ($t:ty) => {
                    match serde_yaml::from_value::<$t>(value.clone()) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            self.errors.push(RuleError::at(
                                "bad_value",
                                &file,
                                &node,
                                path.clone(),
                                e.to_string(),
                                "a valid row".into(),
                            ));
                            None
                        }
                    }
                };
            }
            if let Some(k) = &key_name {
                pos_of.insert((doc, k.clone()), (file.clone(), node.clone()));
            }
            match doc {
                "billing_preferences" => {
                    if let Some(p) = typed!(BillingPreference) {
                        set.preferences.insert(p.name.clone(), p);
                    }
                }
                "payment_terms" => {
                    if let Some(p) = typed!(PaymentTerm) {
                        set.payment_terms.insert(p.name.clone(), p);
                    }
                }
                "products" => {
                    if let Some(p) = typed!(Product) {
                        set.products.insert(p.code.clone(), p);
                    }
                }
                "accounts" => set.accounts.extend(typed!(Account)),
                "legal_entities" => set.legal_entities.extend(typed!(LegalEntity)),
                "orders" => set.orders.extend(typed!(Order)),
                other => set
                    .documents
                    .entry(other.to_string())
                    .or_default()
                    .push(Sourced {
                        file: file.clone(),
                        pos: node.pos,
                        value,
                    }),
            }
        }
        self.errors.extend(cross_checks(&set, &pos_of));
        // The invoicing documents' own rules (04 §13), at the offending key of each row.
        self.errors.extend(invoicing::check(&invoicing_rows, &refs));
        // Billing plans (03 C), at the offending key.
        self.errors.extend(plans::check(&plan_rows));
        // The revenue documents' own rules (06 §3).
        self.errors.extend(revenue::check(
            &revenue_rows,
            default_revenue_policy
                .as_ref()
                .map(|(f, n)| (f.as_str(), n)),
        ));
        // The usage tier tables (03 B.1).
        self.errors.extend(usage::check(&usage_rows));
        let (templates, template_errors) = invoicing::templates(&invoicing_rows);
        set.templates = templates;
        self.errors.extend(template_errors);
        if self.errors.is_empty() {
            Ok(set)
        } else {
            self.errors
                .sort_by(|a, b| (&a.file, a.pos).cmp(&(&b.file, b.pos)));
            self.errors.dedup();
            Err(self.errors)
        }
    }
}

fn internal(doc: &str, e: &serde_yaml::Error) -> RuleError {
    RuleError {
        code: "bad_value",
        file: String::new(),
        pos: Pos::default(),
        path: doc.to_string(),
        found: e.to_string(),
        allowed: "a valid document".into(),
    }
}

/// References and constraints that span rows.
fn cross_checks(
    set: &RuleSet,
    pos_of: &BTreeMap<(&str, String), (String, Node)>,
) -> Vec<RuleError> {
    let mut errors = Vec::new();
    let field_err = |errors: &mut Vec<RuleError>,
                     code,
                     doc: &'static str,
                     name: &str,
                     field: &str,
                     found: String,
                     allowed: String| {
        if let Some((file, node)) = pos_of.get(&(doc, name.to_string())) {
            let at = node.get(field).unwrap_or(node);
            let idx = node_path(doc, name, field);
            errors.push(RuleError::at(code, file, at, idx, found, allowed));
        }
    };
    let defaults: Vec<_> = set.preferences.values().filter(|p| p.default).collect();
    for extra in defaults.iter().skip(1) {
        field_err(
            &mut errors,
            "multiple_defaults",
            "billing_preferences",
            &extra.name,
            "default",
            "a second `default: true`".into(),
            format!(
                "exactly one default preference (already `{}`)",
                defaults[0].name
            ),
        );
    }
    let term_defaults: Vec<_> = set.payment_terms.values().filter(|p| p.default).collect();
    for extra in term_defaults.iter().skip(1) {
        field_err(
            &mut errors,
            "multiple_defaults",
            "payment_terms",
            &extra.name,
            "default",
            "a second `default: true`".into(),
            format!(
                "exactly one default payment term (already `{}`)",
                term_defaults[0].name
            ),
        );
    }
    for t in set.payment_terms.values() {
        if t.start == TermStart::SpecificDay && t.start_value.is_none() {
            field_err(
                &mut errors,
                "missing_key",
                "payment_terms",
                &t.name,
                "start",
                "start: specific_day without start_value".into(),
                "start_value: 1–31".into(),
            );
        }
    }
    for p in set.products.values() {
        for opt in &p.options {
            if !set.products.contains_key(opt) {
                field_err(
                    &mut errors,
                    "unknown_product",
                    "products",
                    &p.code,
                    "options",
                    format!("option `{opt}`"),
                    "a product code".into(),
                );
            }
        }
        let bf = p.billing_frequency();
        let consistent = match p.price_type {
            PriceType::OneTime => bf == BillingFrequency::OneTime,
            PriceType::Usage => bf == BillingFrequency::Usage,
            PriceType::Recurring => {
                !matches!(bf, BillingFrequency::OneTime | BillingFrequency::Usage)
            }
        };
        if !consistent {
            field_err(&mut errors, "bad_value", "products", &p.code, "billing_frequency", format!("`{bf}` with price_type `{}`", p.price_type),
                "one_time for one_time products, usage for usage products, a recurring frequency for recurring products".into());
        }
    }
    for a in &set.accounts {
        check_ref(
            &mut errors,
            set,
            pos_of,
            "accounts",
            &a.id,
            "billing_preference",
            a.billing_preference.as_deref(),
            "billing_preferences",
        );
        check_ref(
            &mut errors,
            set,
            pos_of,
            "accounts",
            &a.id,
            "payment_term",
            a.payment_term.as_deref(),
            "payment_terms",
        );
    }
    errors
}

#[allow(clippy::too_many_arguments)]
fn check_ref(
    errors: &mut Vec<RuleError>,
    set: &RuleSet,
    pos_of: &BTreeMap<(&str, String), (String, Node)>,
    doc: &'static str,
    name: &str,
    field: &str,
    value: Option<&str>,
    target: &str,
) {
    let Some(v) = value else { return };
    let exists = match target {
        "billing_preferences" => set.preferences.contains_key(v),
        "payment_terms" => set.payment_terms.contains_key(v),
        _ => true,
    };
    if !exists {
        if let Some((file, node)) = pos_of.get(&(doc, name.to_string())) {
            let code = if target == "billing_preferences" {
                "unknown_preference"
            } else {
                "unknown_payment_term"
            };
            errors.push(RuleError::at(
                code,
                file,
                node.get(field).unwrap_or(node),
                node_path(doc, name, field),
                format!("`{v}`"),
                format!("a name from {target}"),
            ));
        }
    }
}

fn node_path(doc: &str, name: &str, field: &str) -> String {
    format!("{doc}[{name}].{field}")
}

/// Load and validate a rules folder.
pub fn load_dir(dir: &Path) -> Result<RuleSet, Vec<RuleError>> {
    let mut loader = RuleLoader::new();
    if let Err(e) = loader.add_dir(dir) {
        return Err(vec![RuleError {
            code: "io_error",
            file: dir.display().to_string(),
            pos: Pos::default(),
            path: String::new(),
            found: e.to_string(),
            allowed: "a readable folder of .yaml files".into(),
        }]);
    }
    loader.finish()
}

/// Load rules from one YAML text.
pub fn load_str(file: &str, text: &str) -> Result<RuleSet, Vec<RuleError>> {
    let mut loader = RuleLoader::new();
    loader.add_text(file, text);
    loader.finish()
}
