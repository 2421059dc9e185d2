package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"time"
)

// maxBase leaves room in a 63-character DNS-1123 label for "-" and a suffix.
const maxBase = 50

var notNameChar = regexp.MustCompile(`[^a-z0-9]+`)

// baseName turns a person's full name into a DNS-1123 label: lower case, runs of
// anything else as one "-", accents and other scripts dropped ("user" when nothing
// is left).
func baseName(fullName string) string {
	n := notNameChar.ReplaceAllString(strings.ToLower(fold(fullName)), "-")
	n = strings.Trim(n, "-")
	if len(n) > maxBase {
		n = strings.TrimRight(n[:maxBase], "-")
	}
	if n == "" {
		return "user"
	}
	return n
}

// fold replaces the Latin letters with accents most names carry by their base letter,
// so "Zoë Ångström" reads zoe-angstrom rather than zo-ngstr-m.
func fold(s string) string {
	return accents.Replace(s)
}

var accents = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ä", "a", "ã", "a", "å", "a", "Á", "A", "À", "A", "Â", "A", "Ä", "A", "Ã", "A", "Å", "A",
	"é", "e", "è", "e", "ê", "e", "ë", "e", "É", "E", "È", "E", "Ê", "E", "Ë", "E",
	"í", "i", "ì", "i", "î", "i", "ï", "i", "Í", "I", "Ì", "I", "Î", "I", "Ï", "I",
	"ó", "o", "ò", "o", "ô", "o", "ö", "o", "õ", "o", "ø", "o", "Ó", "O", "Ò", "O", "Ô", "O", "Ö", "O", "Õ", "O", "Ø", "O",
	"ú", "u", "ù", "u", "û", "u", "ü", "u", "Ú", "U", "Ù", "U", "Û", "U", "Ü", "U",
	"ñ", "n", "Ñ", "N", "ç", "c", "Ç", "C", "ß", "ss", "ý", "y", "ÿ", "y", "Ý", "Y",
)

// person is what naming needs of a remote user.
type person struct {
	id        string
	fullName  string
	createdAt time.Time
}

// objectNames names one AcsUser per remote user, by acs_user_id. Names are stable
// from one import to the next, so the output diffs cleanly in git: the oldest user
// with a given name keeps the plain name, and every other takes a suffix from its own
// id, which a user added or removed later does not change. Pure.
func objectNames(people []person) map[string]string {
	byBase := map[string][]person{}
	for _, p := range people {
		b := baseName(p.fullName)
		byBase[b] = append(byBase[b], p)
	}
	names := map[string]string{}
	taken := map[string]bool{}
	bases := make([]string, 0, len(byBase))
	for b := range byBase {
		bases = append(bases, b)
		taken[b] = true
	}
	slices.Sort(bases)
	for _, b := range bases {
		group := byBase[b]
		slices.SortFunc(group, func(x, y person) int {
			if c := x.createdAt.Compare(y.createdAt); c != 0 {
				return c
			}
			return strings.Compare(x.id, y.id)
		})
		names[group[0].id] = b
		for _, p := range group[1:] {
			names[p.id] = suffixed(b, p.id, taken)
		}
	}
	return names
}

// suffixed is base plus the shortest prefix (at least 6) of the id's hash that no
// other name took.
func suffixed(base, id string, taken map[string]bool) string {
	sum := sha256.Sum256([]byte(id))
	h := hex.EncodeToString(sum[:])
	for n := 6; n <= 12; n++ {
		if name := base + "-" + h[:n]; !taken[name] {
			taken[name] = true
			return name
		}
	}
	name := base + "-" + h[:12]
	taken[name] = true
	return name
}
