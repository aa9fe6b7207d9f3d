package auth

import "testing"

// A login for an unknown account must cost what a real one costs: the
// dummy hash has the default parameters and matches no password.
func TestDummyHashCostsAsMuchAsARealOne(t *testing.T) {
	p, salt, key, err := decodeHash(dummyHash)
	if err != nil {
		t.Fatal(err)
	}
	if p.memory != defaultArgon.memory || p.time != defaultArgon.time || p.threads != defaultArgon.threads || uint32(len(key)) != defaultArgon.keyLen || len(salt) != 16 {
		t.Errorf("dummy hash %s: parameters %+v, salt %d bytes, key %d bytes; want %+v", dummyHash, p, len(salt), len(key), defaultArgon)
	}
	for _, pw := range []string{"", "tend-no-such-account", "password"} {
		if CheckPassword(dummyHash, pw) {
			t.Errorf("the dummy hash matches %q", pw)
		}
	}
}
