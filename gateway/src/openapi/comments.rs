//! Leading comments from the descriptors' source info, for OpenAPI descriptions.
//!
//! prost-reflect keeps each file's `source_code_info` (when protox was told to include
//! it) and gives every descriptor its location path, so a comment is a lookup of
//! (file, path) in the file's locations.

use std::collections::HashMap;

use prost_reflect::DescriptorPool;

#[derive(Debug, Default)]
pub(crate) struct Comments {
    by_location: HashMap<(String, Vec<i32>), String>,
}

impl Comments {
    pub fn new(pool: &DescriptorPool) -> Comments {
        let mut by_location = HashMap::new();
        for file in pool.files() {
            let Some(info) = &file.file_descriptor_proto().source_code_info else {
                continue;
            };
            for location in &info.location {
                let Some(text) = location.leading_comments.as_deref().map(clean) else {
                    continue;
                };
                if !text.is_empty() {
                    by_location.insert((file.name().to_string(), location.path.clone()), text);
                }
            }
        }
        Comments { by_location }
    }

    /// The leading comment of the element at `path` in `file`.
    pub fn get(&self, file: &str, path: &[i32]) -> Option<&str> {
        self.by_location
            .get(&(file.to_string(), path.to_vec()))
            .map(String::as_str)
    }
}

/// Strips the one space after `//` and surrounding blank lines.
fn clean(raw: &str) -> String {
    raw.lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}
