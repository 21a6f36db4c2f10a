//! A small JSON file in toll's state directory, shared by concurrent toll processes: every change
//! holds an exclusive lock on a sibling `.lock` file and replaces the file atomically (temporary
//! file + rename), so a reader never sees half a file and two writers never lose each other's
//! changes. A missing or unreadable file reads as the default: these files only save work.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct JsonFile {
    path: PathBuf,
}

impl JsonFile {
    pub fn new(path: PathBuf) -> JsonFile {
        JsonFile { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn read<T: DeserializeOwned + Default>(&self) -> T {
        fs::read(&self.path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Runs `change` on the content under the lock and writes it back when `change` returns
    /// `Some`. `durable` syncs the new file to disk before the rename: worth it for a file that
    /// changes rarely, not for one written on every request.
    pub fn update<T, R>(
        &self,
        durable: bool,
        change: impl FnOnce(&mut T) -> Option<R>,
    ) -> io::Result<Option<R>>
    where
        T: Serialize + DeserializeOwned + Default,
    {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let mut lock_name = self.path.file_name().unwrap_or_default().to_os_string();
        lock_name.push(".lock");
        let lock = File::create(dir.join(lock_name))?;
        lock.lock()?;
        let mut content: T = self.read();
        let result = change(&mut content);
        let written = match &result {
            Some(_) => self.write(dir, &content, durable),
            None => Ok(()),
        };
        let _ = lock.unlock();
        written.map(|()| result)
    }

    fn write<T: Serialize>(&self, dir: &Path, content: &T, durable: bool) -> io::Result<()> {
        let mut tmp = tempfile::Builder::new().prefix(".toll-state.").tempfile_in(dir)?;
        serde_json::to_writer_pretty(&mut tmp, content)?;
        tmp.write_all(b"\n")?;
        if durable {
            tmp.as_file().sync_all()?;
        }
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn concurrent_updates_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = JsonFile::new(dir.path().join("sub/state.json"));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let file = file.clone();
                std::thread::spawn(move || {
                    file.update(false, |m: &mut BTreeMap<String, u32>| {
                        m.insert(format!("k{i}"), i).or(Some(0))
                    })
                    .unwrap()
                })
            })
            .collect();
        threads.into_iter().for_each(|t| {
            t.join().unwrap();
        });
        assert_eq!(file.read::<BTreeMap<String, u32>>().len(), 8);
    }

    #[test]
    fn none_writes_nothing_and_garbage_reads_as_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = JsonFile::new(dir.path().join("state.json"));
        file.update(true, |_: &mut BTreeMap<String, u32>| None::<()>).unwrap();
        assert!(!file.path().exists());
        fs::write(file.path(), b"{ not json").unwrap();
        assert!(file.read::<BTreeMap<String, u32>>().is_empty());
    }
}
