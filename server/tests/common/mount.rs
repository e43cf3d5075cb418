//! Real file systems for the tests that need one (as root): a tmpfs or an
//! ext4 image on a loop device, mounted for the life of a value.

/// A real file system mounted at `dir` for the life of the value, and
/// unmounted on drop (lazily, so a failing test cannot leave it busy).
/// Mounting needs root: a machine where it fails fails the test, with
/// the command's own words.
pub struct Mounted {
    dir: std::path::PathBuf,
    image: Option<std::path::PathBuf>,
}

pub fn run(cmd: &str, args: &[&str]) {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed (these tests need root and the mount tools): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Mounted {
    /// A tmpfs of `mib` MiB.
    pub fn tmpfs(dir: &std::path::Path, mib: u32) -> Mounted {
        std::fs::create_dir_all(dir).unwrap();
        let size = format!("size={mib}m,mode=0700");
        run("mount", &["-t", "tmpfs", "-o", &size, "tmpfs", dir.to_str().unwrap()]);
        Mounted {
            dir: dir.to_path_buf(),
            image: None,
        }
    }

    /// An ext4 image of `mib` MiB on a loop device, with no blocks kept
    /// for root (so used + available is its whole size), remounted
    /// read-only by the kernel on its first error (as a failing disk is).
    pub fn ext4(dir: &std::path::Path, image: &std::path::Path, mib: u32) -> Mounted {
        std::fs::create_dir_all(dir).unwrap();
        let file = std::fs::File::create(image).unwrap();
        file.set_len(u64::from(mib) * 1024 * 1024).unwrap();
        run("mkfs.ext4", &["-q", "-F", "-m", "0", image.to_str().unwrap()]);
        let mounted = Mounted {
            dir: dir.to_path_buf(),
            image: Some(image.to_path_buf()),
        };
        mounted.mount();
        mounted
    }

    fn mount(&self) {
        let image = self.image.as_ref().expect("an image").to_str().unwrap();
        run(
            "mount",
            &["-o", "loop,errors=remount-ro", image, self.dir.to_str().unwrap()],
        );
    }

    pub fn remount(&self, options: &str) {
        run(
            "mount",
            &["-o", &format!("remount,{options}"), self.dir.to_str().unwrap()],
        );
    }

    /// Makes the kernel see an error on the ext4 file system, which it
    /// answers by remounting it read-only under the open files.
    pub fn fail(&self) {
        run("sync", &[]);
        let source = std::process::Command::new("findmnt")
            .args(["-n", "-o", "SOURCE", self.dir.to_str().unwrap()])
            .output()
            .unwrap();
        let device = String::from_utf8_lossy(&source.stdout)
            .trim()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let knob = format!("/sys/fs/ext4/{device}/trigger_fs_error");
        std::fs::write(&knob, "1").unwrap_or_else(|e| panic!("cannot write {knob}: {e}"));
    }

    /// Unmounts, repairs what the error left, and mounts again.
    pub fn repair(&self) {
        run("umount", &[self.dir.to_str().unwrap()]);
        let image = self.image.as_ref().expect("an image").to_str().unwrap();
        // e2fsck exits 1 when it fixed something: that is the point.
        let status = std::process::Command::new("e2fsck")
            .args(["-fy", image])
            .status()
            .unwrap();
        assert!(status.code().is_some_and(|c| c <= 1), "e2fsck: {status}");
        self.mount();
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}
