//! [`Fresh`]: a view built afresh when it is rendered again, never diffed in place.
//!
//! Leptos diffs a view against the one it replaces when both have the same type, and the code
//! that does that for a whole screen is as large as the code that builds it. The widget's
//! screens are rendered again only when the screen or the language changes, where a new build
//! costs a millisecond and the diffing code would cost every shopper kilobytes of download.
//! What the shopper entered lives in signals, so a new build shows it again.

use std::future::Future;

use leptos::tachys::html::attribute::any_attribute::AnyAttribute;
use leptos::tachys::html::attribute::Attribute;
use leptos::tachys::hydration::Cursor;
use leptos::tachys::view::add_attr::AddAnyAttr;
use leptos::tachys::view::{Mountable, Position, PositionState, Render, RenderHtml};

/// `view`, built afresh instead of diffed (see the module's comment).
pub struct Fresh<V>(pub V);

impl<V: Render> Render for Fresh<V> {
    type State = V::State;

    fn build(self) -> V::State {
        self.0.build()
    }

    fn rebuild(self, state: &mut V::State) {
        let mut new = self.0.build();
        // A screen always has elements to insert before; without them the new build would have
        // no place, so it is kept where the old one was by the same call that unmounts it.
        state.insert_before_this(&mut new);
        state.unmount();
        *state = new;
    }
}

impl<V: RenderHtml> RenderHtml for Fresh<V> {
    type AsyncOutput = Fresh<V::AsyncOutput>;
    type Owned = Fresh<V::Owned>;

    const MIN_LENGTH: usize = V::MIN_LENGTH;
    const EXISTS: bool = V::EXISTS;

    fn dry_resolve(&mut self) {
        self.0.dry_resolve();
    }

    fn resolve(self) -> impl Future<Output = Self::AsyncOutput> + Send {
        let resolving = self.0.resolve();
        async move { Fresh(resolving.await) }
    }

    fn html_len(&self) -> usize {
        self.0.html_len()
    }

    fn to_html_with_buf(
        self,
        buf: &mut String,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) {
        self.0
            .to_html_with_buf(buf, position, escape, mark_branches, extra_attrs);
    }

    fn hydrate<const FROM_SERVER: bool>(
        self,
        cursor: &Cursor,
        position: &PositionState,
    ) -> Self::State {
        self.0.hydrate::<FROM_SERVER>(cursor, position)
    }

    fn into_owned(self) -> Self::Owned {
        Fresh(self.0.into_owned())
    }
}

impl<V: AddAnyAttr> AddAnyAttr for Fresh<V> {
    type Output<SomeNewAttr: Attribute> = Fresh<V::Output<SomeNewAttr>>;

    fn add_any_attr<NewAttr: Attribute>(self, attr: NewAttr) -> Self::Output<NewAttr>
    where
        Self::Output<NewAttr>: RenderHtml,
    {
        Fresh(self.0.add_any_attr(attr))
    }
}

#[cfg(all(test, target_family = "wasm"))]
mod dom_tests {
    use leptos::prelude::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::Fresh;
    use crate::dom_tests::{render, settle};

    #[wasm_bindgen_test]
    async fn a_fresh_view_is_built_again_where_the_old_one_was() {
        let count = RwSignal::new(1);
        let rendered = render(move || {
            view! {
                <p class="before"></p>
                {move || Fresh(view! { <p class="fresh">{count.get()}</p> })}
                <p class="after"></p>
            }
        });
        let first = rendered.get(".fresh");

        count.set(2);
        settle().await;

        let second = rendered.get(".fresh");
        assert!(
            !first.is_same_node(Some(&second)),
            "built again, not diffed"
        );
        assert_eq!(second.text_content().as_deref(), Some("2"));
        let sibling_class = |el: Option<web_sys::Element>| el.map(|e| e.class_name());
        assert_eq!(
            sibling_class(second.previous_element_sibling()).as_deref(),
            Some("before")
        );
        assert_eq!(
            sibling_class(second.next_element_sibling()).as_deref(),
            Some("after")
        );
        assert!(
            rendered.find(".fresh + .fresh").is_none(),
            "the old one is gone"
        );
    }
}
