use super::EVENT_TYPES;

#[test]
fn a_typed_prompt_reads_back_as_it_was_made() {
    use super::{Typed, typed_parts, typed_prompt};
    let p = typed_prompt("docs-prod", "s3.restore_to_time", Some("plan: 3 to roll back"));
    assert_eq!(
        typed_parts(&p),
        Some(Typed {
            name: "docs-prod",
            change: "s3.restore_to_time will change docs-prod",
            plan: Some("plan: 3 to roll back")
        })
    );
    let p = typed_prompt("db", "rds.promote_replica", None);
    assert_eq!(typed_parts(&p).unwrap().plan, None);
    assert_eq!(typed_parts("Rehearsal: not executed. How did `x` go?"), None);
}

/// `name()` and `EVENT_TYPES` must agree, or `verify` would call a new event damage.
#[test]
fn every_name_is_an_event_type_and_back() {
    let src = include_str!("mod.rs");
    let body = &src[src.find("pub fn name(&self)").unwrap()..];
    let body = &body[..body.find("\n    }\n").unwrap()];
    let mut names: Vec<&str> = body.split("=> \"").skip(1).map(|rest| &rest[..rest.find('"').unwrap()]).collect();
    let mut types = EVENT_TYPES.to_vec();
    names.sort_unstable();
    types.sort_unstable();
    assert_eq!(names, types);
}
