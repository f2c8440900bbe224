//! `docker save` archives (`docker-archive:PATH`). The classic format has a manifest.json that
//! lists a config and uncompressed layer tars; Docker 25+ writes an OCI layout into the tar
//! instead, which the layout reader handles.

use std::path::Path;

use super::archive::TarIndex;
use super::compress::{self, SourceLayer};
use super::layout::{self, Store};
use super::{Blob, Image, ImageError, ReadOptions};

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

pub async fn read(path: &Path, options: &ReadOptions) -> Result<Image, ImageError> {
    let index = TarIndex::scan(path)?;
    if index.contains("oci-layout") && index.contains("index.json") {
        return layout::read_store_compressing(
            &Store::Tar(index, path.to_path_buf()),
            None,
            options,
        )
        .await;
    }
    let name = path.display().to_string();
    let entries: Vec<Entry> = serde_json::from_slice(&index.read_small("manifest.json")?)
        .map_err(|e| ImageError::invalid(&name, format!("manifest.json: {e}")))?;
    let entry = match entries.as_slice() {
        [only] => only,
        [] => return Err(ImageError::invalid(&name, "manifest.json lists no image")),
        many => {
            let tags: Vec<String> = many
                .iter()
                .flat_map(|e| e.repo_tags.clone().unwrap_or_default())
                .collect();
            return Err(ImageError::invalid(
                &name,
                format!(
                    "holds {} images ({}); save one image per archive",
                    many.len(),
                    tags.join(", ")
                ),
            ));
        }
    };
    let config_bytes = index.read_small(&entry.config)?;
    let diff_ids = layout::diff_ids(&config_bytes, &name)?;
    if diff_ids.len() != entry.layers.len() {
        return Err(ImageError::invalid(
            &name,
            format!(
                "the config lists {} layers, manifest.json {}",
                diff_ids.len(),
                entry.layers.len()
            ),
        ));
    }
    let config = Blob::config(
        &config_bytes,
        index.blob(&entry.config).expect("read above, so present"),
    );
    let mut sources = Vec::new();
    for (layer, diff_id) in entry.layers.iter().zip(diff_ids) {
        let file = index
            .blob(layer)
            .ok_or_else(|| ImageError::invalid(&name, format!("has no layer `{layer}`")))?;
        sources.push(SourceLayer {
            file,
            diff_id,
            descriptor: None,
        });
    }
    let (layers, compressed) = compress::prepare_layers(sources, options).await?;
    Ok(compress::build_image(config, layers, compressed))
}
