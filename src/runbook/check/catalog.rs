//! The dataset catalog: ids, objectives, resources, regions.

use super::*;

pub fn catalog(raw: &raw::CatalogFile, cx: &mut Cx) -> Option<Catalog> {
    let mark = cx.diags.len();
    header(cx, &raw.api_version);
    let datasets = raw.datasets.as_deref().unwrap_or_default();
    for d in datasets {
        if let Some(id) = &d.id {
            check_id(cx, id);
        }
        for (name, value) in [("rpo", &d.rpo), ("rto", &d.rto), ("drill_every", &d.drill_every)] {
            if let Some(v) = value
                && v.0 == 0
            {
                cx.push(Diag::new(Kind::Zero(name), v.span));
            }
        }
    }
    check_unique(cx, "dataset", datasets.iter().filter_map(|d| d.id.as_ref()));
    if errors_since(cx, mark) {
        return None;
    }
    let loc = |l: &raw::Location| Location {
        region: l.region.as_ref().map(|r| r.value.clone()).unwrap_or_default(),
        account: l.account.as_ref().map(|a| a.value.clone()),
    };
    Some(Catalog {
        datasets: datasets
            .iter()
            .map(|d| Dataset {
                id: d.id.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                title: d.title.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                owner: d.owner.as_ref().map(|v| v.value.clone()),
                classification: d.classification.as_ref().map(|v| v.value).unwrap_or(Classification::Internal),
                rpo: d.rpo.as_ref().map(|v| v.value).unwrap_or_default(),
                rto: d.rto.as_ref().map(|v| v.value).unwrap_or_default(),
                primary: d.primary.as_ref().map(loc).unwrap_or(Location { region: String::new(), account: None }),
                backup: d.backup.as_ref().map(loc),
                resources: d
                    .resources
                    .iter()
                    .flatten()
                    .map(|r| Resource {
                        kind: r.kind.as_ref().map(|v| v.value).unwrap_or(raw::ResourceKind::S3Bucket),
                        id: r.id.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                        role: r.role.as_ref().map(|v| v.value).unwrap_or(raw::Role::Production),
                        region: r.region.as_ref().map(|v| v.value.clone()),
                    })
                    .collect(),
                drill_every: d.drill_every.as_ref().map(|v| v.value),
            })
            .collect(),
    })
}
