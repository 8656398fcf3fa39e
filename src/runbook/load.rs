//! Reading lifeboat files from disk: one file, or a folder of them, each runbook checked
//! against the `datasets.yaml` of its own folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::check::{self, CatalogFor};
use super::decode::{Cx, Decode, clip};
use super::diag::{Diag, FileReport, Kind, Severity, suggest};
use super::model::{Answers, Catalog, Runbook};
use super::raw;
use super::yaml::{self, Span};

/// Files larger than this are not runbooks; refusing them early keeps mistakes cheap.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
pub const CATALOG_FILE: &str = "datasets.yaml";
/// Who holds which role, beside the catalog.
pub const ROLES_FILE: &str = "roles.yaml";
const KINDS: &[&str] = &["DatasetCatalog", "Runbook", "Answers", "Injects", "Roles"];

#[derive(Debug, Clone)]
pub enum Doc {
    Catalog(Box<raw::CatalogFile>),
    Runbook(Box<raw::RunbookFile>),
    Answers(Box<raw::AnswersFile>),
    Injects(Box<raw::InjectsFile>),
    Roles(Box<raw::RolesFile>),
}

/// One file read and decoded (not yet checked against the others).
pub struct Loaded {
    pub path: PathBuf,
    pub source: Option<String>,
    pub doc: Option<Doc>,
    pub cx: Cx,
}

impl Loaded {
    pub fn report(&self) -> FileReport {
        let mut diags = self.cx.diags.clone();
        diags.sort_by_key(|d| d.span.map(|s| s.start));
        FileReport { path: self.path.clone(), source: self.source.clone(), diags }
    }
    fn has_errors(&self) -> bool {
        self.cx.diags.iter().any(|d| d.severity() == Severity::Error)
    }
}

pub fn read(path: &Path) -> Loaded {
    let mut cx = Cx::default();
    let out = |source, doc, cx| Loaded { path: path.to_path_buf(), source, doc, cx };
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            cx.push(
                Diag::new(Kind::TooLarge(m.len()), Span::point(0, 1, 1))
                    .help("a runbook is a few kilobytes; check that this is the file you meant"),
            );
            return out(None, None, cx);
        }
        Err(e) => {
            cx.push(Diag::new(Kind::Io(e.kind().to_string()), None));
            return out(None, None, cx);
        }
        Ok(_) => {}
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            cx.push(Diag::new(Kind::Io(e.kind().to_string()), None));
            return out(None, None, cx);
        }
    };
    let source = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
            let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let col = String::from_utf8_lossy(&good[line_start..]).chars().count() as u32 + 1;
            let bad = e.as_bytes()[good.len()];
            cx.push(
                Diag::new(Kind::NotUtf8(bad), Span::point(good.len(), line, col))
                    .help("lifeboat files are UTF-8 YAML; is this a binary or an archive?"),
            );
            return out(None, None, cx);
        }
    };
    let doc = decode(&source, &mut cx);
    out(Some(source), doc, cx)
}

pub fn decode(source: &str, cx: &mut Cx) -> Option<Doc> {
    let root = match yaml::parse(source) {
        Ok(Some(root)) => root,
        Ok(None) => {
            cx.push(
                Diag::new(Kind::Empty, Span::point(0, 1, 1))
                    .help("a lifeboat file starts with `apiVersion: lifeboat/v1` and a `kind` (DatasetCatalog, Runbook or Answers)"),
            );
            return None;
        }
        Err(e) => {
            let mut d = Diag::new(Kind::Syntax(e.message), e.span);
            if let Some(h) = e.help {
                d = d.help(h);
            }
            cx.push(d);
            return None;
        }
    };
    let kind = match root.get("kind") {
        Some(k) => k,
        None => {
            let d = Diag::new(
                Kind::MissingField { field: "kind", within: "a lifeboat file" },
                Span { end: root.span.start, ..root.span },
            );
            cx.push(d.help("add `kind: Runbook` (or DatasetCatalog, Answers)"));
            // Still decode as a runbook when it looks like one, to report everything else
            // (but say the missing `kind` once).
            root.get("phases")?;
            let mut inner = Cx::default();
            let doc = raw::RunbookFile::decode(&root, &mut inner);
            cx.diags.extend(
                inner.diags.into_iter().filter(|d| !matches!(d.kind, Kind::MissingField { field: "kind", .. })),
            );
            return doc.map(|r| Doc::Runbook(Box::new(r)));
        }
    };
    match kind.as_str() {
        Some("DatasetCatalog") => raw::CatalogFile::decode(&root, cx).map(|c| Doc::Catalog(Box::new(c))),
        Some("Runbook") => raw::RunbookFile::decode(&root, cx).map(|r| Doc::Runbook(Box::new(r))),
        Some("Answers") => raw::AnswersFile::decode(&root, cx).map(|a| Doc::Answers(Box::new(a))),
        Some("Injects") => raw::InjectsFile::decode(&root, cx).map(|i| Doc::Injects(Box::new(i))),
        Some("Roles") => raw::RolesFile::decode(&root, cx).map(|r| Doc::Roles(Box::new(r))),
        other => {
            let text = other.unwrap_or("");
            let mut d = Diag::new(Kind::UnknownKind(clip(text)), kind.span);
            d = match suggest(text, KINDS.iter().copied()) {
                Some(s) => d.label(format!("did you mean `{s}`?")),
                None => d.help("one of: DatasetCatalog, Runbook, Answers, Injects, Roles"),
            };
            cx.push(d);
            None
        }
    }
}

/// Every `.yaml`/`.yml` below `dir`, sorted, skipping hidden folders.
pub fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let p = entry.path();
            let name = entry.file_name();
            let hidden = name.to_string_lossy().starts_with('.');
            let ft = entry.file_type()?;
            if ft.is_dir() && !hidden {
                todo.push(p);
            } else if ft.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Files read once and checked against each other.
#[derive(Default)]
pub struct Workspace {
    files: Vec<Loaded>,
    by_path: HashMap<PathBuf, usize>,
    catalogs: HashMap<PathBuf, Option<Catalog>>,
    runbooks: HashMap<usize, Option<Runbook>>,
    answers: HashMap<usize, Option<Answers>>,
    /// Roles and injects files already checked: each says its problems once, however
    /// many runbooks beside it ask for it.
    checked: std::collections::HashSet<usize>,
}

fn key(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

impl Workspace {
    /// Reads a file once; later calls return the same index.
    pub fn add(&mut self, path: &Path) -> usize {
        let k = key(path);
        if let Some(&i) = self.by_path.get(&k) {
            return i;
        }
        self.files.push(read(path));
        self.by_path.insert(k, self.files.len() - 1);
        self.files.len() - 1
    }

    pub fn file(&self, i: usize) -> &Loaded {
        &self.files[i]
    }

    fn catalog_in(&mut self, dir: &Path) -> CatalogFor<'_> {
        let path = dir.join(CATALOG_FILE);
        let k = key(&path);
        if !self.catalogs.contains_key(&k) {
            let cat = if path.is_file() {
                let i = self.add(&path);
                self.check_catalog(i)
            } else {
                None
            };
            self.catalogs.insert(k.clone(), cat);
        }
        match self.catalogs.get(&k) {
            Some(Some(c)) => CatalogFor::Found(c),
            _ if path.is_file() => CatalogFor::Invalid { path: super::diag::display_path(&path) },
            _ => CatalogFor::Missing { expected: super::diag::display_path(&path) },
        }
    }

    fn check_catalog(&mut self, i: usize) -> Option<Catalog> {
        let f = &mut self.files[i];
        match &f.doc {
            Some(Doc::Catalog(raw)) if !f.has_errors() => check::catalog(raw, &mut f.cx),
            Some(Doc::Catalog(raw)) => {
                check::catalog(raw, &mut f.cx);
                None
            }
            _ => None,
        }
    }

    /// Checks file `i` (once) against its folder's catalog and, for answers, its runbook.
    pub fn check(&mut self, i: usize) {
        let dir = self.files[i].path.parent().map(Path::to_path_buf).unwrap_or_default();
        match self.files[i].doc.clone() {
            Some(Doc::Catalog(_)) if !self.catalogs.contains_key(&key(&self.files[i].path)) => {
                let c = self.check_catalog(i);
                self.catalogs.insert(key(&self.files[i].path), c);
            }
            Some(Doc::Catalog(_)) => {}
            Some(Doc::Runbook(raw)) => {
                if self.runbooks.contains_key(&i) {
                    return;
                }
                let decoded_ok = !self.files[i].has_errors();
                let mut cx = std::mem::take(&mut self.files[i].cx);
                let source = self.files[i].source.clone().unwrap_or_default();
                let catalog = self.catalog_in(&dir);
                let rb = check::runbook(&raw, catalog, &super::action_table::find, &source, &mut cx);
                let roles = self.roles_in(&dir);
                if let Some(rb) = &rb {
                    check::approvers(rb, &raw, roles.as_ref(), &mut cx);
                }
                self.files[i].cx = cx;
                self.runbooks.insert(i, rb.filter(|_| decoded_ok));
            }
            Some(Doc::Injects(_) | Doc::Roles(_)) if !self.checked.insert(i) => {}
            Some(Doc::Injects(raw)) => {
                let mut cx = std::mem::take(&mut self.files[i].cx);
                check::injects(&raw, &super::action_table::find, &mut cx);
                self.files[i].cx = cx;
            }
            Some(Doc::Roles(raw)) => {
                let mut cx = std::mem::take(&mut self.files[i].cx);
                check::roles(&raw, &mut cx);
                self.files[i].cx = cx;
            }
            Some(Doc::Answers(raw)) => {
                if self.answers.contains_key(&i) {
                    return;
                }
                let rb = raw.runbook.as_ref().map(|id| (id.clone(), self.find_runbook(id, &dir)));
                let mut cx = std::mem::take(&mut self.files[i].cx);
                if let Some((id, None)) = &rb {
                    cx.push(Diag::new(Kind::UnknownRunbook(clip(id)), id.span).help(
                        "no valid runbook with this id in this folder or the one above; validate the runbook first",
                    ));
                }
                let decoded_ok = !cx.diags.iter().any(|d| d.severity() == Severity::Error);
                let runbook = rb.and_then(|(_, r)| r);
                let a = check::answers(&raw, runbook.as_ref(), &mut cx);
                self.files[i].cx = cx;
                self.answers.insert(i, a.filter(|_| decoded_ok));
            }
            None => {}
        }
    }

    /// A valid runbook with this id in `dir` or its parent (answers often sit in a subfolder).
    fn find_runbook(&mut self, id: &str, dir: &Path) -> Option<Runbook> {
        // A relative path's last parent is "": the current folder, whose parent is "..".
        let here = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        let up = match here.parent() {
            _ if here == Path::new(".") => Path::new(".."),
            Some(p) if p.as_os_str().is_empty() => Path::new("."),
            Some(p) => p,
            None => here,
        };
        for d in [here, up] {
            let Ok(entries) = std::fs::read_dir(d) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
                .collect();
            paths.sort();
            for p in paths {
                let i = self.add(&p);
                if matches!(&self.files[i].doc, Some(Doc::Runbook(r)) if r.id.as_ref().is_some_and(|x| x.value == id)) {
                    self.check(i);
                    if let Some(Some(rb)) = self.runbooks.get(&i) {
                        return Some(rb.clone());
                    }
                }
            }
        }
        None
    }

    /// The roles file beside a folder's catalog, when there is a valid one.
    pub fn roles_in(&mut self, dir: &Path) -> Option<super::model::Roles> {
        let path = dir.join(ROLES_FILE);
        if !path.is_file() {
            return None;
        }
        let i = self.add(&path);
        self.check(i);
        match &self.files[i].doc {
            Some(Doc::Roles(raw)) if !self.files[i].has_errors() => check::roles(raw, &mut Cx::default()),
            _ => None,
        }
    }

    pub fn runbook(&self, i: usize) -> Option<&Runbook> {
        self.runbooks.get(&i).and_then(Option::as_ref)
    }

    pub fn answers(&self, i: usize) -> Option<&Answers> {
        self.answers.get(&i).and_then(Option::as_ref)
    }

    pub fn catalog_for(&mut self, runbook_path: &Path) -> Option<&Catalog> {
        let dir = runbook_path.parent().map(Path::to_path_buf).unwrap_or_default();
        match self.catalog_in(&dir) {
            CatalogFor::Found(_) => self.catalogs.get(&key(&dir.join(CATALOG_FILE))).and_then(Option::as_ref),
            _ => None,
        }
    }
}

/// Decodes and checks one text in memory (no folder around it): the core of `validate`,
/// for property tests and editors. Runbooks are checked against `catalog` when given.
pub fn check_text(source: &str, catalog: Option<&Catalog>) -> Vec<Diag> {
    let mut cx = Cx::default();
    match decode(source, &mut cx) {
        Some(Doc::Catalog(raw)) => {
            check::catalog(&raw, &mut cx);
        }
        Some(Doc::Runbook(raw)) => {
            let cat = match catalog {
                Some(c) => CatalogFor::Found(c),
                None => CatalogFor::Missing { expected: CATALOG_FILE.into() },
            };
            check::runbook(&raw, cat, &super::action_table::find, source, &mut cx);
        }
        Some(Doc::Answers(raw)) => {
            check::answers(&raw, None, &mut cx);
        }
        Some(Doc::Injects(raw)) => check::injects(&raw, &super::action_table::find, &mut cx),
        Some(Doc::Roles(raw)) => {
            check::roles(&raw, &mut cx);
        }
        None => {}
    }
    cx.diags
}

/// A checked catalog from text (tests, tools).
pub fn catalog_from_str(source: &str) -> Result<Catalog, Vec<Diag>> {
    let mut cx = Cx::default();
    match decode(source, &mut cx) {
        Some(Doc::Catalog(raw)) if cx.diags.is_empty() => check::catalog(&raw, &mut cx).ok_or(cx.diags),
        _ => Err(cx.diags),
    }
}

/// A checked runbook from text, against a catalog (tests, tools).
pub fn runbook_from_str(source: &str, catalog: &Catalog) -> Result<Runbook, Vec<Diag>> {
    let mut cx = Cx::default();
    match decode(source, &mut cx) {
        Some(Doc::Runbook(raw)) if cx.diags.is_empty() => {
            check::runbook(&raw, CatalogFor::Found(catalog), &super::action_table::find, source, &mut cx)
                .ok_or(cx.diags)
        }
        _ => Err(cx.diags),
    }
}
