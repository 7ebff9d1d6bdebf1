//! The words dagu-auth and its hosts share: the status of a call, the action a principal wants to
//! take, the decision on it and the surface a credential arrived on.
//!
//! Each enum is written once, in the table at the bottom of this file. From it come the Rust enum,
//! `from_u32`, the static names (`name`, `c_name`), the list of every value (`ALL`) and the C
//! declarations of `include/dagu_auth.h` ([`C_DECLARATIONS`]). cbindgen cannot see inside a macro,
//! so the header test hands [`C_DECLARATIONS`] to cbindgen instead of letting it parse these enums;
//! the header's numbers and names therefore come from this same table.
//!
//! Values are explicit and only ever appended: hosts built against an older list keep working.

use std::ffi::CStr;

/// A C name with its NUL terminator appended, checked while compiling.
const fn nul_terminated(text: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(text.as_bytes()) {
        Ok(name) => name,
        Err(_) => panic!("a name in the vocabulary table holds a NUL byte"),
    }
}

/// Declares each enum of the table once, with everything derived from it.
///
/// An entry reads `Variant = value as "C_NAME"`, with its documentation above it; every entry is
/// documented because the same words become the header's comments.
macro_rules! vocabulary {
    ($(
        $(#[doc = $enum_doc:literal])+
        pub enum $name:ident as $c_prefix:literal {
            $(
                $(#[doc = $doc:literal])+
                $variant:ident = $value:literal as $c_name:literal,
            )+
        }
    )+) => {
        $(
            $(#[doc = $enum_doc])+
            #[repr(u32)]
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum $name {
                $($(#[doc = $doc])+ $variant = $value,)+
            }

            impl $name {
                /// Every value, in the order of the table.
                pub const ALL: [Self; [$($value),+].len()] = [$(Self::$variant),+];

                /// Maps an integer from outside; never transmutes.
                pub const fn from_u32(value: u32) -> Option<Self> {
                    match value {
                        $($value => Some(Self::$variant),)+
                        _ => None,
                    }
                }

                /// The value's name without the enum's prefix, e.g. `NOT_FOUND`.
                pub const fn name(self) -> &'static str {
                    match self {
                        $(Self::$variant => $c_name,)+
                    }
                }

                /// [`Self::name`] as a static C string, for functions that hand names to C.
                pub const fn c_name(self) -> &'static CStr {
                    match self {
                        $(Self::$variant => const { nul_terminated(concat!($c_name, "\0")) },)+
                    }
                }
            }
        )+

        /// The C declarations of every enum above, written as cbindgen writes a `#[repr(u32)]`
        /// enum with `cpp_compat`: a fixed `uint32_t` underlying type for C23 and C++, and a
        /// `uint32_t` typedef for older C.
        pub const C_DECLARATIONS: &str = concat!($(
            "\n/**\n", $(" *", $enum_doc, "\n",)+ " */\n",
            "enum ", stringify!($name), "\n",
            "#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L\n",
            "  : uint32_t\n",
            "#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L\n",
            " {\n",
            $(
                "  /**\n", $("   *", $doc, "\n",)+ "   */\n",
                "  ", $c_prefix, "_", $c_name, " = ", $value, ",\n",
            )+
            "};\n",
            "#ifndef __cplusplus\n",
            "#if __STDC_VERSION__ >= 202311L\n",
            "typedef enum ", stringify!($name), " ", stringify!($name), ";\n",
            "#else\n",
            "typedef uint32_t ", stringify!($name), ";\n",
            "#endif // __STDC_VERSION__ >= 202311L\n",
            "#endif // __cplusplus\n",
        )+);
    };
}

vocabulary! {
    /// The result of every call. `dagu_auth_status_name` names each value.
    pub enum DaguAuthStatus as "DAGU_AUTH_STATUS" {
        /// The call succeeded and wrote its outputs.
        Ok = 0 as "OK",
        /// A required pointer argument was NULL; nothing was done.
        NullArgument = 1 as "NULL_ARGUMENT",
        /// A string argument was not valid UTF-8; nothing was done.
        InvalidUtf8 = 2 as "INVALID_UTF8",
        /// A JSON argument did not parse or had the wrong shape.
        InvalidJson = 3 as "INVALID_JSON",
        /// The request broke a validation rule (HTTP 400).
        BadRequest = 4 as "BAD_REQUEST",
        /// The token or credentials were missing, invalid, expired or revoked (HTTP 401).
        Unauthenticated = 5 as "UNAUTHENTICATED",
        /// Authenticated but not allowed, or not licensed (HTTP 403).
        Forbidden = 6 as "FORBIDDEN",
        /// The user or API key does not exist (HTTP 404).
        NotFound = 7 as "NOT_FOUND",
        /// The name is taken, e.g. a username or an API key name (HTTP 409).
        AlreadyExists = 8 as "ALREADY_EXISTS",
        /// The change would break an invariant, e.g. remove the last enabled admin (HTTP 409).
        Conflict = 9 as "CONFLICT",
        /// Too many failed sign-ins for this account or address; retry later (HTTP 429).
        RateLimited = 10 as "RATE_LIMITED",
        /// Larger than the library accepts (HTTP 413; a request body over 1 MiB).
        PayloadTooLarge = 11 as "PAYLOAD_TOO_LARGE",
        /// `dagu_auth_open` was given a configuration it refuses.
        InvalidConfig = 12 as "INVALID_CONFIG",
        /// The database could not be read or written.
        Storage = 13 as "STORAGE",
        /// A bug in the library; the message says where.
        Internal = 14 as "INTERNAL",
        /// A panic was caught at the boundary; the instance is still usable.
        Panic = 15 as "PANIC",
        /// A versioned argument (`struct_size`, ABI version) is not one this library knows.
        UnsupportedVersion = 16 as "UNSUPPORTED_VERSION",
        /// Overloaded (hashing queue or database busy); retry later (HTTP 503).
        Unavailable = 17 as "UNAVAILABLE",
    }

    /// What a principal wants to do. Roles rank viewer < operator < developer < manager < admin;
    /// each action needs the role named below or a higher one.
    pub enum DaguAuthAction as "DAGU_AUTH_ACTION" {
        /// Needs viewer in the workspace.
        View = 1 as "VIEW",
        /// Needs operator in the workspace.
        Execute = 2 as "EXECUTE",
        /// Needs developer in the workspace.
        Write = 3 as "WRITE",
        /// Needs manager as the top-level role, whatever the workspace (never NOT_VISIBLE).
        Audit = 4 as "AUDIT",
        /// Needs admin as the top-level role, whatever the workspace (never NOT_VISIBLE).
        Admin = 5 as "ADMIN",
    }

    /// The answer of `authorize` for an authenticated principal.
    pub enum DaguAuthDecision as "DAGU_AUTH_DECISION" {
        /// The principal may do the action there.
        Allow = 1 as "ALLOW",
        /// The workspace is visible to the principal but its role there is too low (HTTP 403).
        Forbidden = 2 as "FORBIDDEN",
        /// The principal has no role in that workspace: hosts answer 404 so it cannot be discovered.
        NotVisible = 3 as "NOT_VISIBLE",
    }

    /// Where a credential arrived, as Dagu names its surfaces. An API key is usable only on the
    /// surfaces it allows; a session token on any. Zero is REST, so a zeroed request means REST.
    pub enum DaguAuthSurface as "DAGU_AUTH_SURFACE" {
        /// The REST API (Dagu's `rest_api`); what every call without a surface means.
        RestApi = 0 as "REST_API",
        /// The MCP endpoint (Dagu's `mcp`).
        Mcp = 1 as "MCP",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_values_are_their_index_and_round_trip() {
        for (index, status) in DaguAuthStatus::ALL.iter().enumerate() {
            assert_eq!(*status as u32, index as u32);
            assert_eq!(DaguAuthStatus::from_u32(index as u32), Some(*status));
        }
        assert_eq!(
            DaguAuthStatus::from_u32(DaguAuthStatus::ALL.len() as u32),
            None
        );
    }

    #[test]
    fn unknown_action_decision_and_surface_values_map_to_none() {
        assert_eq!(DaguAuthAction::from_u32(0), None);
        assert_eq!(DaguAuthAction::from_u32(6), None);
        assert_eq!(DaguAuthDecision::from_u32(0), None);
        assert_eq!(DaguAuthDecision::from_u32(u32::MAX), None);
        assert_eq!(DaguAuthSurface::from_u32(2), None);
        assert_eq!(DaguAuthSurface::from_u32(0), Some(DaguAuthSurface::RestApi));
        for action in DaguAuthAction::ALL {
            assert_eq!(DaguAuthAction::from_u32(action as u32), Some(action));
        }
        for decision in DaguAuthDecision::ALL {
            assert_eq!(DaguAuthDecision::from_u32(decision as u32), Some(decision));
        }
    }

    #[test]
    fn c_names_are_the_names_with_a_terminator() {
        for status in DaguAuthStatus::ALL {
            assert_eq!(status.c_name().to_str(), Ok(status.name()));
        }
        assert_eq!(DaguAuthStatus::NotFound.name(), "NOT_FOUND");
        assert_eq!(DaguAuthAction::Admin.name(), "ADMIN");
        assert_eq!(DaguAuthDecision::NotVisible.name(), "NOT_VISIBLE");
    }

    #[test]
    fn c_declarations_give_every_value_its_prefixed_name_and_number() {
        let statuses = DaguAuthStatus::ALL.map(|s| (s as u32, format!("STATUS_{}", s.name())));
        let actions = DaguAuthAction::ALL.map(|a| (a as u32, format!("ACTION_{}", a.name())));
        let decisions = DaguAuthDecision::ALL.map(|d| (d as u32, format!("DECISION_{}", d.name())));
        let surfaces = DaguAuthSurface::ALL.map(|s| (s as u32, format!("SURFACE_{}", s.name())));
        let every = statuses
            .iter()
            .chain(&actions)
            .chain(&decisions)
            .chain(&surfaces);
        for (value, name) in every {
            let line = format!("  DAGU_AUTH_{name} = {value},\n");
            assert!(C_DECLARATIONS.contains(&line), "missing {line:?}");
        }
        for name in [
            "DaguAuthStatus",
            "DaguAuthAction",
            "DaguAuthDecision",
            "DaguAuthSurface",
        ] {
            assert!(C_DECLARATIONS.contains(&format!("typedef uint32_t {name};\n")));
        }
    }
}
