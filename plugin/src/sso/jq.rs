//! `role_attribute_path`: a jq expression over the sign-in's claims that names a role, run by
//! the `jaq` crates. Compiled once at start to refuse a bad expression with its config key, and
//! again for each sign-in: jaq's values are reference counted and not `Send`, and a sign-in is
//! rare enough that the compile (well under a millisecond) does not matter.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;

/// A jq expression known to compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAttributePath(String);

impl RoleAttributePath {
    pub fn new(expression: &str) -> Result<Self, String> {
        compile(expression)?;
        Ok(Self(expression.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first value the expression yields over `claims`, when it is a string. An error while
    /// running, or any other first value, is no answer, as in Dagu.
    pub fn first_string(&self, claims: &serde_json::Value) -> Option<String> {
        let filter = compile(&self.0).ok()?;
        let json = serde_json::to_vec(claims).ok()?;
        let input = jaq_json::read::parse_single(&json).ok()?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
        let first = filter.id.run((ctx, input)).map(unwrap_valr).next()?;
        match first.ok()? {
            Val::TStr(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            _ => None,
        }
    }
}

// Not named `Filter`: cbindgen reads the whole crate and takes an alias by that name for the
// generic `jaq_core::Filter` it names, and stops.
type CompiledJq = jaq_core::Filter<data::JustLut<Val>>;

fn compile(expression: &str) -> Result<CompiledJq, String> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let arena = Arena::default();
    let modules = Loader::new(defs)
        .load(
            &arena,
            File {
                code: expression,
                path: (),
            },
        )
        .map_err(|_| format!("role_attribute_path {expression:?} is not a valid jq expression"))?;
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|_| format!("role_attribute_path {expression:?} does not compile"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_string_the_expression_yields_is_the_answer() {
        let path =
            RoleAttributePath::new(r#"if (.groups | index("ops")) then "admin" else "viewer" end"#)
                .expect("compiles");
        assert_eq!(
            path.first_string(&json!({"groups": ["dev", "ops"]})),
            Some("admin".into())
        );
        assert_eq!(
            path.first_string(&json!({"groups": ["dev"]})),
            Some("viewer".into())
        );
    }

    #[test]
    fn a_non_string_or_a_failing_run_is_no_answer() {
        let number = RoleAttributePath::new(".level").expect("compiles");
        assert_eq!(number.first_string(&json!({"level": 3})), None);
        let failing = RoleAttributePath::new(".a.b").expect("compiles");
        assert_eq!(failing.first_string(&json!({"a": 1})), None);
    }

    #[test]
    fn an_invalid_expression_is_refused_at_start() {
        assert!(RoleAttributePath::new("if then").is_err());
        assert!(RoleAttributePath::new("no_such_function(1)").is_err());
    }
}
