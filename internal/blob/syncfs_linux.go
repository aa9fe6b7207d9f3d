package blob

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS writes every dirty page and the metadata of the file system that
// holds dir to the disk (syncfs(2)).
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
