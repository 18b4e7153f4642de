//! JSON files that several processes share (state, ledger, routes, acknowledgements): written
//! whole through a temporary file, flushed and renamed, so a reader never sees half a file.

use std::io::Write;
use std::path::Path;

/// Writes `value` as pretty JSON (with a final newline) to `path` through a temporary file
/// beside it and a rename; creates the directory if needed.
pub fn write_atomically<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp.{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        serde_json::to_writer_pretty(&mut f, value).map_err(std::io::Error::other)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Reads a JSON file; `None` when it is missing or unreadable.
pub fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_whole_files_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("x.json");
        super::write_atomically(&path, &serde_json::json!({"a": 1})).unwrap();
        let v: serde_json::Value = super::read(&path).unwrap();
        assert_eq!(v["a"], 1);
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"));
        // No temporary file is left beside it.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
        assert!(super::read::<serde_json::Value>(&dir.path().join("none.json")).is_none());
    }
}
