//! The theme app extension's block (`extensions/backorder-badge/blocks/eta-badge.liquid`),
//! rendered by the `liquid` crate as Shopify renders it (the theme-only `schema`, `javascript`
//! and `stylesheet` tags registered as Shopify treats them: the schema is not output, the script
//! and style are), with the `$app.backorder_eta` metafield set and not set.

use std::io::Write;

use liquid_core::error::ResultLiquidReplaceExt;
use liquid_core::{BlockReflection, Language, ParseBlock, Renderable, Runtime, TagBlock, TagTokenIter};
use serde_json::{Value, json};

const BLOCK: &str = include_str!("../../extensions/backorder-badge/blocks/eta-badge.liquid");

/// A theme-only block whose body Liquid does not parse: output between `open` and `close`.
#[derive(Clone, Debug)]
struct ThemeBlock {
    name: &'static str,
    end: &'static str,
    open: &'static str,
    close: &'static str,
}

#[derive(Debug)]
struct Verbatim(String);

impl Renderable for Verbatim {
    fn render_to(&self, writer: &mut dyn Write, _: &dyn Runtime) -> liquid_core::Result<()> {
        write!(writer, "{}", self.0).replace("Failed to render")
    }
}

impl BlockReflection for ThemeBlock {
    fn start_tag(&self) -> &str {
        self.name
    }
    fn end_tag(&self) -> &str {
        self.end
    }
    fn description(&self) -> &str {
        "a theme-only block"
    }
}

impl ParseBlock for ThemeBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut block: TagBlock<'_, '_>,
        _: &Language,
    ) -> liquid_core::Result<Box<dyn Renderable>> {
        arguments.expect_nothing()?;
        let body = block.escape_liquid(false)?.to_string();
        block.assert_empty();
        let out = if self.open.is_empty() { String::new() } else { format!("{}{body}{}", self.open, self.close) };
        Ok(Box::new(Verbatim(out)))
    }

    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

fn parser() -> liquid::Parser {
    let theme = |name, end, open, close| ThemeBlock { name, end, open, close };
    liquid::ParserBuilder::with_stdlib()
        .block(theme("schema", "endschema", "", ""))
        .block(theme("javascript", "endjavascript", "<script>", "</script>"))
        .block(theme("stylesheet", "endstylesheet", "<style>", "</style>"))
        .build()
        .expect("a parser")
}

/// The block's schema (the theme editor's settings and their defaults).
fn schema() -> Value {
    let start = BLOCK.find("{% schema %}").unwrap() + "{% schema %}".len();
    let end = BLOCK.find("{% endschema %}").unwrap();
    serde_json::from_str(&BLOCK[start..end]).expect("the schema is JSON")
}

/// A variant as Liquid sees it: stock, policy, and our date when set.
pub struct Shown {
    pub id: u64,
    pub title: &'static str,
    pub quantity: i64,
    pub policy: &'static str,
    pub eta: Option<&'static str>,
}

/// The block rendered for a product of `variants`, the first selected.
pub fn render(variants: &[Shown]) -> String {
    render_with(variants, &[])
}

/// As [`render`], with some of the block's settings typed in by the merchant.
pub fn render_with(variants: &[Shown], typed: &[(&str, &str)]) -> String {
    let mut settings: serde_json::Map<String, Value> = schema()["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), s["default"].clone()))
        .collect();
    for (id, text) in typed {
        settings.insert(id.to_string(), json!(text));
    }
    let variants: Vec<Value> = variants
        .iter()
        .map(|v| {
            let metafields = match v.eta {
                Some(eta) => json!({"$app": {"backorder_eta": {"value": eta, "type": "date"}}}),
                // Liquid's nil, as Shopify gives for a metafield that is not set.
                None => json!({"$app": {"backorder_eta": null}}),
            };
            json!({"id": v.id, "title": v.title, "inventory_quantity": v.quantity, "inventory_management": "shopify",
                   "inventory_policy": v.policy, "metafields": metafields})
        })
        .collect();
    let globals = liquid::to_object(&json!({
        "product": {"variants": variants, "selected_or_first_available_variant": variants[0]},
        "block": {"settings": settings, "shopify_attributes": "data-shopify-editor-block=\"{}\""},
    }))
    .unwrap();
    parser().parse(BLOCK).expect("the block parses").render(&globals).expect("the block renders")
}

/// The variant map the block embeds for its script.
fn embedded(html: &str) -> Value {
    let start = html.find("data-backorder-variants>").unwrap() + "data-backorder-variants>".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap_or_else(|e| panic!("the map is JSON ({e}): {}", &html[start..end]))
}

pub fn product() -> Vec<Shown> {
    vec![
        Shown { id: 11, title: "Small", quantity: 3, policy: "deny", eta: None },
        Shown { id: 12, title: "Medium", quantity: -4, policy: "continue", eta: Some("2027-01-15") },
        Shown { id: 13, title: "Large", quantity: 0, policy: "deny", eta: None },
        Shown { id: 14, title: "X-Large", quantity: 0, policy: "continue", eta: None },
    ]
}

#[test]
fn the_block_embeds_each_variants_status_and_the_date_from_the_app_metafield() {
    let html = render(&product());
    assert_eq!(
        embedded(&html),
        json!({
            "11": {"status": "in_stock", "eta": null},
            "12": {"status": "backorder", "eta": "2027-01-15"},
            "13": {"status": "sold_out", "eta": null},
            "14": {"status": "backorder", "eta": null},
        }),
        "the metafield set on Medium, not set on X-Large"
    );
    assert!(html.contains("<script>") && html.contains("</script>"), "the block's script is on the page");
    assert!(html.contains("<style>"), "and its style");
    assert!(!html.contains("\"target\": \"section\""), "the schema is not output");
    assert!(html.contains("data-selected=\"11\""));
    assert_eq!(schema()["target"], "section", "an app block, placed in the theme editor");
}

#[test]
fn the_block_escapes_what_the_merchant_types_in_the_theme_editor() {
    let typed = "\"><img src=x onerror=alert(1)>";
    let html = render_with(&product(), &[("in_stock_text", typed)]);
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("data-in-stock=\"&quot;&gt;&lt;img"), "kept as text in its attribute");
}
