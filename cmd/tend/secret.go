package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"tend/internal/store"
)

// SecretFlags name the key that seals secrets kept in the database
// (mailbox passwords, the key that signs reply-to addresses). Without one,
// tend makes a key file in the data folder on first start, as many
// self-hosted products do. Every command that stores such a secret loads
// the key the same way (useSecretKey): the store refuses to store one
// without it.
type SecretFlags struct {
	SecretKeyFile string `name:"secret-key-file" help:"File with the key that seals mailbox passwords and the reply-address key in the database: 32 bytes, raw or base64 (default: secret.key in --data, made on first start). TEND_SECRET_KEY may hold the key itself, in base64." env:"TEND_SECRET_KEY_FILE" type:"path" placeholder:"FILE"`
	SecretKey     string `name:"secret-key" hidden:"" help:"The key itself, base64; prefer the environment to a flag, which shows in the process list." env:"TEND_SECRET_KEY"`
}

// defaultKeyFile is the key tend makes when none is given.
const defaultKeyFile = "secret.key"

// key reads the key, or makes the default key file.
func (f SecretFlags) key(dataDir string, log *slog.Logger) ([]byte, error) {
	switch {
	case f.SecretKey != "" && f.SecretKeyFile != "":
		return nil, errors.New("give the secret key once: --secret-key-file (TEND_SECRET_KEY_FILE) or TEND_SECRET_KEY, not both")
	case f.SecretKey != "":
		key, err := decodeKey([]byte(f.SecretKey))
		if err != nil {
			return nil, fmt.Errorf("TEND_SECRET_KEY: %w", err)
		}
		return key, nil
	case f.SecretKeyFile != "":
		return readKeyFile(f.SecretKeyFile, log)
	}
	path := filepath.Join(dataDir, defaultKeyFile)
	key, err := readKeyFile(path, log)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, store.SecretKeySize)
	rand.Read(key)
	if err := writeKeyFile(path, key); errors.Is(err, fs.ErrExist) {
		return readKeyFile(path, log) // another tend on this folder made it first
	} else if err != nil {
		return nil, fmt.Errorf("make the secret key file %s: %w", path, err)
	}
	log.Warn("made a new secret key: it seals mailbox passwords and the reply-address key in the database. Back it up with the database: "+
		"without it the passwords have to be given again. Replicas sharing a database need the same key (--secret-key-file).", "file", path)
	return key, nil
}

func readKeyFile(path string, log *slog.Logger) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the secret key file %s: %w", path, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("read the secret key file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the secret key file can be read by others than its owner; chmod 600 it", "file", path, "mode", fi.Mode().Perm().String())
	}
	key, err := decodeKey(b)
	if err != nil {
		return nil, fmt.Errorf("the secret key file %s: %w", path, err)
	}
	return key, nil
}

// decodeKey takes 32 raw bytes or their base64.
func decodeKey(b []byte) ([]byte, error) {
	if len(b) == store.SecretKeySize {
		return b, nil
	}
	text := bytes.TrimSpace(b)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(string(text)); err == nil && len(key) == store.SecretKeySize {
			return key, nil
		}
	}
	return nil, fmt.Errorf("a key is %d random bytes, raw or in base64 (such as the output of `openssl rand -base64 32`)", store.SecretKeySize)
}

// writeKeyFile makes the key file, readable by its owner only, and never
// overwrites one.
func writeKeyFile(path string, key []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// useSecretKey gives the store its key: secrets stored in plain text are
// sealed, and those the key cannot open are named in the log.
func (f SecretFlags) useSecretKey(ctx context.Context, st *store.Store, dataDir string, log *slog.Logger) error {
	key, err := f.key(dataDir, log)
	if err != nil {
		return err
	}
	rep, err := st.UseSecretKey(ctx, key)
	if err != nil {
		return fmt.Errorf("seal the secrets in the database: %w", err)
	}
	if rep.Sealed > 0 {
		log.Info("mailbox passwords stored in plain text are sealed now", "mailboxes", rep.Sealed)
	}
	if rep.ReplyKeySealed {
		log.Info("the key that signs reply-to addresses was stored in plain text and is sealed now; reply-to addresses already sent stay valid")
	}
	if rep.ReplyKeyUnreadable {
		log.Error(store.ErrReplyKeyUnreadable.Error())
	}
	for _, name := range rep.Unreadable {
		log.Error("the password of a mailbox cannot be opened with this secret key: it was sealed under another key; "+
			"start tend with that key (--secret-key-file) or give the password again", "mailbox", name)
	}
	return nil
}
