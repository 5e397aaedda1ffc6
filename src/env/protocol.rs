//! The JS ↔ native protocol, named once: the kinds the JS helpers hand the serializer, the
//! record-column kinds, the attribute kinds of `_getattr`, the type names handles and contexts
//! carry, the wrapper marker symbol, and the N-API type tags. Rust code uses the constants below;
//! JS reads the same table from the addon (`clib._protocol`, built by `js_object()`), and the
//! serializer's helpers (`helpers.js`) receive it as their argument — no numeric code is written
//! twice.

use crate::sys::napi::TypeTag;

macro_rules! protocol {
    ($( $(#[$doc:meta])* $group:ident : $ty:ty { $( $(#[$cdoc:meta])* $name:ident = $value:expr ),* $(,)? } )*) => {
        $(
            $(#[$doc])*
            pub mod $group {
                $( $(#[$cdoc])* pub const $name: $ty = $value; )*
            }
        )*

        /// Every numeric code as (group, name, value), in table order.
        pub fn codes() -> Vec<(&'static str, &'static str, f64)> {
            vec![ $( $( (stringify!($group), stringify!($name), $group::$name as f64), )* )* ]
        }
    };
}

protocol! {
    /// What `inspect(o, memo, next)` answers for an object that is not a plain object's parts: a
    /// memo hit is its index (≥ 0); a kind is one of these (< 0).
    inspect: i32 {
        ARRAY = -1,
        TYPED_ARRAY = -2,
        ARRAY_BUFFER = -3,
        DATE = -4,
        MAP = -5,
        SET = -6,
        PROMISE = -7,
        /// A plain object whose keys cannot travel joined (a key holds a NUL).
        OBJECT_BY_KEY = -8,
        KWARGS = -9,
        CONTEXT = -10,
        HANDLE = -11,
        DATA_VIEW = -12,
        /// An object shaped like a handle that is none (a copy: `{...h}`).
        HANDLE_COPY = -13,
        /// A boxed primitive (`new Number(1)`): converted as its primitive.
        BOXED = -14,
        /// WeakMap, WeakSet, WeakRef, FinalizationRegistry: contents unreadable.
        WEAK = -15,
        TUPLE = -16,
        /// A `jsobject(x)` marker: `x` goes to Python as a live proxy.
        JS_OBJECT = -17,
        /// An object whose prototype is not `Object.prototype` or null (a class instance): a
        /// live proxy where the package registered its proxy hook, else a dict of its own keys.
        INSTANCE = -18,
    }
    /// Record columns (`recordsOf` / `makeRecords`): the kind of each value slot.
    record: u8 {
        NUMBER = 0,
        /// Its length in the numbers column; the text in the joined strings.
        STRING = 1,
        TRUE = 2,
        FALSE = 3,
        NONE = 4,
        /// An Array: its length, then its items.
        ARRAY = 5,
        /// An Array converted before: its memo index.
        SEEN = 6,
        /// Python → JS: a value made by the native side (a long string, a BigInt), in order.
        OWN = 7,
        /// JS → Python: any other value, converted by the general path after the columns.
        OTHER = 8,
    }
    /// `_getattr(obj, name)` → `[kind, value]`.
    attribute: u8 {
        /// Python has no such attribute.
        MISSING = 0,
        /// A callable: value is its handle (or null unless asked for).
        CALLABLE = 1,
        /// Anything else: value converted.
        VALUE = 2,
    }
}

/// `type` of handles.
pub const HANDLE_TYPE: &str = "python-ts/PyObject*";
/// `type` of context objects.
pub const CONTEXT_TYPE: &str = "python-ts/PyThreadState*";
/// `Symbol.for(WRAPPED_SYMBOL)`: the key under which a wrapped object of the `Python` class
/// answers its state (the serializer finds wrappers by it).
pub const WRAPPED_SYMBOL: &str = "python-ts.wrapped";

/// The type tags of the objects the native side makes (random constants); an object is ours
/// only if it carries one, whatever its fields say.
pub static HANDLE_TAG: TypeTag = TypeTag { lower: 0x8f1c_3a5e_d2b4_4c71, upper: 0x9e0a_6b3d_17f2_5a08 };
pub static KWARGS_TAG: TypeTag = TypeTag { lower: 0x51d2_77c0_aa13_4e9b, upper: 0x0c6f_e4a2_9b35_d817 };
pub static TUPLE_TAG: TypeTag = TypeTag { lower: 0x7a3c_19e4_d2b8_605f, upper: 0x93e1_4b7d_0c2a_f816 };
pub static CONTEXT_TAG: TypeTag = TypeTag { lower: 0x2b7e_1516_28ae_d2a6, upper: 0xabf7_1588_09cf_4f3c };

/// The table as a JS expression: a frozen `{ inspect: {...}, record: {...}, attribute: {...},
/// names: { HANDLE_TYPE, CONTEXT_TYPE, WRAPPED_SYMBOL } }`.
pub fn js_object() -> String {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for (group, name, value) in codes() {
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, entries)) => entries.push(format!("{name}: {value}")),
            None => groups.push((group, vec![format!("{name}: {value}")])),
        }
    }
    let mut out = String::from("Object.freeze({ ");
    for (group, entries) in groups {
        out.push_str(&format!("{group}: Object.freeze({{ {} }}), ", entries.join(", ")));
    }
    out.push_str(&format!(
        "names: Object.freeze({{ HANDLE_TYPE: {:?}, CONTEXT_TYPE: {:?}, WRAPPED_SYMBOL: {:?} }}) }})",
        HANDLE_TYPE, CONTEXT_TYPE, WRAPPED_SYMBOL
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_within_each_group() {
        let all = codes();
        for (g, n, v) in &all {
            let same = all.iter().filter(|(g2, n2, v2)| g2 == g && v2 == v && n2 != n).count();
            assert_eq!(same, 0, "{g}.{n} = {v} is used twice");
        }
    }

    #[test]
    fn the_js_table_names_every_code() {
        let js = js_object();
        for (g, n, v) in codes() {
            assert!(js.contains(&format!("{n}: {v}")), "{g}.{n} missing from {js}");
        }
        assert!(js.contains("HANDLE_TYPE: \"python-ts/PyObject*\""));
    }
}
