//! [`lazy_part!`]: declares one of the widget's lazily loaded parts (`components/parts.rs`).

/// `lazy_part! { name, preload_name, /// docs \n vis fn f(args) -> Result<T, Problem> = body }`
/// declares `async fn f(args)`, whose code (`body` and what only it reaches) is the split point
/// `name` of the wasm, and `async fn preload_name()`, which fetches it ahead of time.
///
/// With the `split` feature off (the wasm-bindgen-test build, whose runner cannot serve parts),
/// `f` calls `body` directly and `preload_name` has nothing to fetch.
macro_rules! lazy_part {
    (
        $name:ident, $preload:ident,
        $(#[$attr:meta])*
        $vis:vis fn $f:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty = $body:ident
    ) => {
        #[cfg(feature = "split")]
        $(#[$attr])*
        #[leptos::wasm_split::wasm_split(
            $name,
            wasm_split_path = ::leptos::wasm_split,
            preload($preload),
            fallible
        )]
        $vis fn $f($($arg: $ty),*) -> $ret {
            $body($($arg),*)
        }

        #[cfg(not(feature = "split"))]
        $(#[$attr])*
        $vis async fn $f($($arg: $ty),*) -> $ret {
            $body($($arg),*)
        }

        /// Fetches the part ahead of its first use.
        #[cfg(not(feature = "split"))]
        #[allow(dead_code)]
        $vis async fn $preload() -> Result<(), ::leptos::wasm_split::SplitLoaderError> {
            Ok(())
        }
    };
}
