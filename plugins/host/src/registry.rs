//! Registration (07 §2): the `callbacks` document of a rule set → loaded plugins, with every
//! registration and load error reported at its YAML position, as rule errors.

use crate::limits::Limits;
use crate::plugin::{Kind, Plugin};
use crate::point::Point;
use reckon_engine::callbacks as cb;
use reckon_engine::rules::{RuleError, RuleSet};
use reckon_engine::yaml::{Node, Pos};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// The points registered directly under `callbacks:`.
const SINGLE_POINTS: [Point; 5] = [
    Point::Tax,
    Point::InvoiceGrouping,
    Point::TransactionPrice,
    Point::RevenueAllocation,
    Point::ObligationMerge,
];

/// The plugins of a rule set, ready to be called; implements the engine's [`cb::Callbacks`].
#[derive(Debug, Default)]
pub struct PluginSet {
    points: BTreeMap<Point, Arc<Plugin>>,
    named: BTreeMap<String, Arc<Plugin>>,
}

impl PluginSet {
    /// The plugin registered for a single point.
    pub fn for_point(&self, p: Point) -> Option<&Plugin> {
        self.points.get(&p).map(Arc::as_ref)
    }

    /// A named plugin.
    pub fn named(&self, name: &str) -> Option<&Plugin> {
        self.named.get(name).map(Arc::as_ref)
    }

    /// How many plugins are loaded.
    pub fn len(&self) -> usize {
        let mut names: BTreeSet<&str> = self.named.keys().map(String::as_str).collect();
        names.extend(self.points.values().map(|p| p.name()));
        names.len()
    }

    /// True when no plugin is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl cb::Callbacks for PluginSet {
    fn tax(&self) -> Option<&dyn cb::TaxCallback> {
        self.for_point(Point::Tax)
            .map(|p| p as &dyn cb::TaxCallback)
    }
    fn invoice_grouping(&self) -> Option<&dyn cb::GroupingCallback> {
        self.for_point(Point::InvoiceGrouping)
            .map(|p| p as &dyn cb::GroupingCallback)
    }
    fn invoice_numbering(&self, name: &str) -> Option<&dyn cb::NumberingCallback> {
        self.named(name)
            .filter(|p| p.point() == Point::InvoiceNumbering)
            .map(|p| p as &dyn cb::NumberingCallback)
    }
    fn invoice_run_filter(&self, name: &str) -> Option<&dyn cb::FilterCallback> {
        self.named(name)
            .filter(|p| p.point() == Point::InvoiceRunFilter)
            .map(|p| p as &dyn cb::FilterCallback)
    }
    fn transaction_price(&self) -> Option<&dyn cb::TransactionPriceCallback> {
        self.for_point(Point::TransactionPrice)
            .map(|p| p as &dyn cb::TransactionPriceCallback)
    }
    fn revenue_allocation(&self) -> Option<&dyn cb::AllocationCallback> {
        self.for_point(Point::RevenueAllocation)
            .map(|p| p as &dyn cb::AllocationCallback)
    }
    fn obligation_merge(&self) -> Option<&dyn cb::ObligationMergeCallback> {
        self.for_point(Point::ObligationMerge)
            .map(|p| p as &dyn cb::ObligationMergeCallback)
    }
}

struct Reg<'a> {
    /// Where the registration's name (its key) stands.
    at: Pos,
    name: String,
    file: String,
    path: String,
    node: &'a Node,
}

fn err(
    code: &'static str,
    file: &str,
    pos: Pos,
    path: &str,
    found: String,
    allowed: &str,
) -> RuleError {
    RuleError {
        code,
        file: file.to_string(),
        pos,
        path: path.to_string(),
        found,
        allowed: allowed.to_string(),
    }
}

fn valid_name(n: &str) -> bool {
    (1..=64).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Load every plugin a rule set registers. All errors are returned, each at its YAML position.
pub fn load(rules: &RuleSet) -> Result<PluginSet, Vec<RuleError>> {
    let mut errors = Vec::new();
    let cbs = &rules.callbacks;
    let defaults = Limits::default().merged(cbs.get("limits").map(|s| s.value.to_value()).as_ref());
    // Named registrations.
    let mut named: BTreeMap<String, Reg<'_>> = BTreeMap::new();
    if let Some(src) = cbs.get("plugins") {
        for (k, v) in src.value.as_map().unwrap_or_default() {
            let name = k.as_str().unwrap_or_default().to_string();
            if !valid_name(&name) {
                errors.push(err(
                    "bad_value",
                    &src.file,
                    k.pos,
                    &format!("callbacks.plugins.{name}"),
                    format!("name `{name}`"),
                    "a name of 1–64 characters of [a-z0-9_]",
                ));
                continue;
            }
            named.insert(
                name.clone(),
                Reg {
                    at: k.pos,
                    name: name.clone(),
                    file: src.file.clone(),
                    path: format!("callbacks.plugins.{name}"),
                    node: v,
                },
            );
        }
    }
    // Who references what.
    let mut uses: BTreeMap<String, BTreeSet<Point>> = BTreeMap::new();
    let mut direct: Vec<(Point, Reg<'_>)> = Vec::new();
    for point in SINGLE_POINTS {
        let Some(src) = cbs.get(point.name()) else {
            continue;
        };
        let path = format!("callbacks.{}", point.name());
        match src.value.as_str() {
            Some(name) => match named.get(name) {
                Some(_) => {
                    uses.entry(name.to_string()).or_default().insert(point);
                }
                None => errors.push(err(
                    "unknown_callback",
                    &src.file,
                    src.value.pos,
                    &path,
                    format!("`{name}`"),
                    "a name defined under callbacks.plugins",
                )),
            },
            None => direct.push((
                point,
                Reg {
                    at: src.pos,
                    name: point.name().to_string(),
                    file: src.file.clone(),
                    path,
                    node: &src.value,
                },
            )),
        }
    }
    let mut reference = |name: &str,
                         point: Point,
                         file: &str,
                         pos: Pos,
                         path: String,
                         errors: &mut Vec<RuleError>| {
        if named.contains_key(name) {
            uses.entry(name.to_string()).or_default().insert(point);
        } else {
            errors.push(err(
                "unknown_callback",
                file,
                pos,
                &path,
                format!("`{name}`"),
                "a name defined under callbacks.plugins",
            ));
        }
    };
    for (i, row) in rules
        .documents
        .get("numbering")
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(name) = row.value.get("callback").and_then(|c| c.as_str()) {
            reference(
                name,
                Point::InvoiceNumbering,
                &row.file,
                row.pos,
                format!("numbering[{i}].callback"),
                &mut errors,
            );
        }
    }
    for doc in ["invoice_runs", "revenue_runs"] {
        for (i, row) in rules.documents.get(doc).into_iter().flatten().enumerate() {
            for (j, f) in row
                .value
                .get("filters")
                .and_then(|f| f.as_sequence())
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(name) = f.get("callback").and_then(|c| c.as_str()) {
                    reference(
                        name,
                        Point::InvoiceRunFilter,
                        &row.file,
                        row.pos,
                        format!("{doc}[{i}].filters[{j}].callback"),
                        &mut errors,
                    );
                }
            }
        }
    }
    let policies: BTreeSet<String> = rules
        .documents
        .get("revenue_policies")
        .into_iter()
        .flatten()
        .filter_map(|r| {
            r.value
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::to_string)
        })
        .collect();
    let mut set = PluginSet::default();
    for (point, reg) in direct {
        match load_one(&reg, point, defaults, &policies) {
            Ok(p) => {
                set.points.insert(point, Arc::new(p));
            }
            Err(e) => errors.push(e),
        }
    }
    for (name, reg) in &named {
        let points = uses.get(name).cloned().unwrap_or_default();
        let pos = reg.at;
        let point = match points.len() {
            0 => {
                errors.push(err(
                    "unreferenced_callback",
                    &reg.file,
                    pos,
                    &reg.path,
                    format!("plugin `{name}` is never used"),
                    "a plugin referenced by a callback point, a numbering row or a filter row",
                ));
                continue;
            }
            1 => *points.iter().next().expect("one"),
            _ => {
                let list: Vec<&str> = points.iter().map(|p| p.name()).collect();
                errors.push(err(
                    "callback_point_conflict",
                    &reg.file,
                    pos,
                    &reg.path,
                    format!("plugin `{name}` is used for {}", list.join(" and ")),
                    "one callback point per plugin",
                ));
                continue;
            }
        };
        match load_one(reg, point, defaults, &policies) {
            Ok(p) => {
                let p = Arc::new(p);
                for sp in SINGLE_POINTS {
                    if cbs.get(sp.name()).and_then(|s| s.value.as_str()) == Some(name.as_str()) {
                        set.points.insert(sp, p.clone());
                    }
                }
                set.named.insert(name.clone(), p);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        errors.sort_by(|a, b| (&a.file, a.pos).cmp(&(&b.file, b.pos)));
        Err(errors)
    }
}

#[allow(clippy::result_large_err)] // a cold path; RuleError is the rules' common error
fn load_one(
    reg: &Reg<'_>,
    point: Point,
    defaults: Limits,
    policies: &BTreeSet<String>,
) -> Result<Plugin, RuleError> {
    let entry = |k: &str| {
        reg.node
            .as_map()
            .unwrap_or_default()
            .iter()
            .find(|(key, _)| key.as_str() == Some(k))
            .map(|(key, v)| (key.pos, v))
    };
    let wasm = entry("wasm");
    let rhai = entry("rhai");
    let (kind, key, ext) = match (wasm, rhai) {
        (Some((at, w)), None) => (Kind::Wasm, (at, w), "wasm"),
        (None, Some((at, r))) => (Kind::Rhai, (at, r), "rhai"),
        _ => {
            return Err(err(
                "bad_value",
                &reg.file,
                reg.node.pos,
                &reg.path,
                "a registration without exactly one of wasm / rhai".into(),
                "`wasm: PATH` or `rhai: PATH`",
            ));
        }
    };
    let (key_at, key) = key;
    let rel = key.as_str().unwrap_or_default();
    let key_path = format!("{}.{ext}", reg.path);
    if Path::new(rel).extension().and_then(|e| e.to_str()) != Some(ext) {
        return Err(err(
            "bad_value",
            &reg.file,
            key_at,
            &key_path,
            format!("`{rel}`"),
            &format!("a path ending in .{ext}"),
        ));
    }
    let base = Path::new(&reg.file).parent().unwrap_or(Path::new("."));
    let full = base.join(rel);
    let limits = defaults.merged(reg.node.get("limits").map(Node::to_value).as_ref());
    let config: cb::Attributes = reg
        .node
        .get("config")
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap_or_default().to_string(),
                v.as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    Plugin::load(&reg.name, point, kind, &full, limits, config)
        .map(|p| p.with_known_policies(policies.clone()))
        .map_err(|e| {
            let hint = if e.reason == "not_found" && kind == Kind::Wasm {
                "an existing component (build it with plugins/examples/build.sh)"
            } else {
                "a loadable plugin for this point"
            };
            err(
                e.reason,
                &reg.file,
                key_at,
                &key_path,
                format!("{}: {}", e.file, e.message),
                hint,
            )
        })
}
