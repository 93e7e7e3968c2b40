//! Link previews on texts: the first http(s) link of the text, its page
//! fetched through the guarded fetcher (the same SSRF rules, size and time
//! limits as media), its title, description and image read from the
//! page's Open Graph tags (or its <title> and description), and the image
//! made into the small JPEG thumbnail WhatsApp shows.

use whatsapp_rust::waproto::{buffa::MessageField, whatsapp as wa};

use crate::fetch::Fetcher;

/// The most of a page read for its preview.
const PAGE_MAX_BYTES: u64 = 1024 * 1024;
/// The most of a preview image fetched.
const IMAGE_MAX_BYTES: u64 = 5 * 1024 * 1024;
/// The thumbnail's longer side, in pixels.
const THUMBNAIL_SIDE: u32 = 192;
const TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 300;

/// A link's preview as the recipient's phone shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Preview {
    /// The link as it appears in the text.
    pub url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// JPEG.
    pub thumbnail: Option<Vec<u8>>,
}

/// The first http(s) link of `text`.
pub(crate) fn first_link(text: &str) -> Option<(String, url::Url)> {
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    finder.links(text).find_map(|link| {
        let url = url::Url::parse(link.as_str()).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| (link.as_str().to_owned(), url))
    })
}

/// The preview of the first link of `text`, or why there is none (for the
/// answer: the text is then sent without one).
pub(crate) async fn build(fetcher: &Fetcher, text: &str) -> Result<Preview, String> {
    let (shown, url) = first_link(text).ok_or("the text has no http(s) link")?;
    let page = fetcher
        .get(&url, PAGE_MAX_BYTES)
        .await
        .map_err(|e| match e {
            crate::fetch::FetchError::TooLarge { .. } => {
                format!("{url}: the page is larger than the 1 MB a preview reads")
            }
            // The others name the URL themselves.
            other => other.to_string(),
        })?;
    let is_html = page
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.contains("html"))
        || page.body.trim_ascii_start().starts_with(b"<");
    if !is_html {
        return Err(format!("{url} is not a web page"));
    }
    let html = String::from_utf8_lossy(&page.body);
    let tags = Tags::read(&html);
    let mut preview = Preview {
        url: shown,
        title: tags.title.map(|t| clip(&t, TITLE_MAX)),
        description: tags.description.map(|d| clip(&d, DESCRIPTION_MAX)),
        thumbnail: None,
    };
    if preview.title.is_none() && preview.description.is_none() {
        return Err(format!("{url} has no title or description to show"));
    }
    // The image is a nicety: a page whose image cannot be had still gets
    // its title and description.
    if let Some(image) = tags.image.and_then(|src| page.final_url.join(&src).ok()) {
        match fetcher.get(&image, IMAGE_MAX_BYTES).await {
            Ok(fetched) => match thumbnail(&fetched.body) {
                Ok(jpeg) => preview.thumbnail = Some(jpeg),
                Err(why) => tracing::info!(%image, %why, "link preview without its image"),
            },
            Err(err) => tracing::info!(%image, error = %err, "link preview without its image"),
        }
    }
    Ok(preview)
}

/// A text with its link's preview, as WhatsApp sends it.
pub(crate) fn message(text: &str, preview: &Preview) -> wa::Message {
    wa::Message {
        extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
            text: Some(text.to_owned()),
            matched_text: Some(preview.url.clone()),
            title: preview.title.clone(),
            description: preview.description.clone(),
            jpeg_thumbnail: preview.thumbnail.clone(),
            preview_type: Some(if preview.thumbnail.is_some() {
                wa::message::extended_text_message::PreviewType::IMAGE
            } else {
                wa::message::extended_text_message::PreviewType::NONE
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What a page says about itself.
#[derive(Debug, Default, PartialEq)]
struct Tags {
    title: Option<String>,
    description: Option<String>,
    image: Option<String>,
}

impl Tags {
    /// Open Graph first, then Twitter's cards, then the document's own.
    fn read(html: &str) -> Tags {
        let doc = scraper::Html::parse_document(html);
        let meta = |keys: &[&str]| {
            let selector = scraper::Selector::parse("meta").expect("a valid selector");
            keys.iter().find_map(|key| {
                doc.select(&selector).find_map(|m| {
                    let el = m.value();
                    let named = el.attr("property").or(el.attr("name"))?;
                    named
                        .eq_ignore_ascii_case(key)
                        .then(|| el.attr("content"))
                        .flatten()
                        .map(|c| c.trim().to_owned())
                        .filter(|c| !c.is_empty())
                })
            })
        };
        let title_tag = scraper::Selector::parse("title").expect("a valid selector");
        Tags {
            title: meta(&["og:title", "twitter:title"]).or_else(|| {
                doc.select(&title_tag)
                    .next()
                    .map(|t| t.text().collect::<String>().trim().to_owned())
                    .filter(|t| !t.is_empty())
            }),
            description: meta(&["og:description", "twitter:description", "description"]),
            image: meta(&["og:image", "og:image:url", "twitter:image"]),
        }
    }
}

/// A JPEG thumbnail, its longer side 192 pixels at most.
fn thumbnail(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    reader.limits(crate::media::decoder_limits());
    let image = reader.decode().map_err(|e| e.to_string())?;
    let small = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE).into_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    small
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

fn clip(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_web_link_is_found() {
        let (shown, url) =
            first_link("see example.org or https://shop.example/p/1?x=2, thanks").unwrap();
        assert_eq!(shown, "https://shop.example/p/1?x=2");
        assert_eq!(url.host_str(), Some("shop.example"));
        assert!(first_link("mail me: a@b.example, ftp://x.example/").is_none());
    }

    #[test]
    fn open_graph_comes_first_then_the_page_s_own() {
        let tags = Tags::read(
            r#"<html><head><title> Shop </title><meta name="description" content="plain">
               <meta property="og:title" content="Red shoes"><meta property="og:image" content="/img.png">
               </head><body></body></html>"#,
        );
        assert_eq!(tags.title.as_deref(), Some("Red shoes"));
        assert_eq!(tags.description.as_deref(), Some("plain"));
        assert_eq!(tags.image.as_deref(), Some("/img.png"));
        let bare = Tags::read("<title>Only a title</title>");
        assert_eq!(bare.title.as_deref(), Some("Only a title"));
        assert_eq!(Tags::read("not html at all"), Tags::default());
        assert_eq!(clip("a  b\n c", 3), "a b…");
    }
}
