//! Any bytes applied as a layer tar, then looked up as an image's file system (links,
//! whiteouts, `..`), never panic and never loop.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shipit::image::files::FileTree;

fuzz_target!(|data: &[u8]| {
    let mut tree = FileTree::default();
    let _ = tree.apply_layer(data);
    let _ = tree.apply_layer(data);
    for path in ["/bin/sh", "usr/bin/curl", "../../etc/passwd", "a/b/../c", "/"] {
        let _ = tree.resolve(path);
        let _ = tree.is_executable(path);
    }
    let _ = tree.which("python", "/usr/local/bin:/usr/bin:/bin:relative");
});
