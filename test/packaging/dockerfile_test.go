package packaging

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// stage is one FROM of a multi-stage Dockerfile and the instructions under it.
type stage struct {
	base, name   string
	instructions []*parser.Node
}

// parseDockerfile parses with buildkit's own parser (what `docker build` runs) and groups
// the instructions by stage.
func parseDockerfile(path string) []stage {
	GinkgoHelper()
	f, err := os.Open(path)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	res, err := parser.Parse(f)
	Expect(err).NotTo(HaveOccurred())
	Expect(res.Warnings).To(BeEmpty(), "buildkit warns about the Dockerfile")

	var stages []stage
	for _, n := range res.AST.Children {
		// Instructions are case-insensitive; compare them in lower case.
		n.Value = strings.ToLower(n.Value)
		if n.Value == "from" {
			args := words(n)
			s := stage{base: args[0]}
			if len(args) == 3 && strings.EqualFold(args[1], "as") {
				s.name = args[2]
			}
			stages = append(stages, s)
			continue
		}
		Expect(stages).NotTo(BeEmpty(), "%q comes before any FROM", n.Original)
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, n)
	}
	return stages
}

// words are an instruction's arguments: for RUN in shell form, the whole command line.
func words(n *parser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		out = append(out, a.Value)
	}
	return out
}

func (s stage) all(instruction string) []*parser.Node {
	var out []*parser.Node
	for _, n := range s.instructions {
		if n.Value == instruction {
			out = append(out, n)
		}
	}
	return out
}

// index is the position of the first instruction that satisfies match, or -1.
func (s stage) index(match func(*parser.Node) bool) int {
	return slices.IndexFunc(s.instructions, match)
}

var _ = Describe("The Dockerfile", func() {
	var builder, final stage
	BeforeEach(func() {
		stages := parseDockerfile(filepath.Join(root, "Dockerfile"))
		Expect(len(stages)).To(BeNumerically(">=", 2), "a multi-stage build: the toolchain stays out of the image")
		final = stages[len(stages)-1]
		for _, s := range stages {
			if s.name == "builder" {
				builder = s
			}
		}
		Expect(builder.name).To(Equal("builder"), "a stage named builder")
	})

	It("builds a static, trimmed manager in a Go stage, dependencies in their own layer", func() {
		Expect(builder.base).To(MatchRegexp(`^golang:1\.26(\.\d+)?(-[a-z0-9.]+)?(@sha256:[a-f0-9]{64})?$`))

		goBuild := builder.index(func(n *parser.Node) bool {
			return n.Value == "run" && strings.Contains(strings.Join(words(n), " "), "go build")
		})
		Expect(goBuild).NotTo(Equal(-1), "a RUN with go build")
		cmd := strings.Join(words(builder.instructions[goBuild]), " ")
		cgoOffInEnv := slices.ContainsFunc(builder.all("env"), func(n *parser.Node) bool {
			return slices.Equal(words(n), []string{"CGO_ENABLED", "0", "="})
		})
		Expect(strings.Contains(cmd, "CGO_ENABLED=0") || cgoOffInEnv).To(BeTrue(), "CGO_ENABLED=0 makes a static binary for distroless/static: %s", cmd)
		Expect(cmd).To(ContainSubstring("-trimpath"))
		Expect(cmd).To(MatchRegexp(`-o /manager \./cmd/manager\b`))
		Expect(cmd).To(ContainSubstring(`-ldflags="-s -w"`))

		download := builder.index(func(n *parser.Node) bool {
			return n.Value == "run" && strings.Contains(strings.Join(words(n), " "), "go mod download")
		})
		copyGoMod := builder.index(func(n *parser.Node) bool {
			return n.Value == "copy" && slices.Equal(words(n), []string{"go.mod", "go.sum", "./"})
		})
		firstSource := builder.index(func(n *parser.Node) bool {
			return n.Value == "copy" && slices.ContainsFunc(words(n), func(w string) bool {
				return slices.Contains([]string{"api/", "cmd/", "internal/", "."}, w)
			})
		})
		Expect(copyGoMod).NotTo(Equal(-1), "COPY go.mod go.sum ./")
		Expect(download).To(BeNumerically(">", copyGoMod), "go mod download after copying go.mod")
		Expect(firstSource).To(BeNumerically(">", download), "sources are copied after go mod download, so a code change reuses the module layer")
		Expect(builder.all("copy")).To(ContainElements(
			WithTransform(words, Equal([]string{"api/", "api/"})),
			WithTransform(words, Equal([]string{"cmd/", "cmd/"})),
			WithTransform(words, Equal([]string{"internal/", "internal/"}))))
	})

	It("runs the manager from distroless static, as non-root 65532", func() {
		Expect(final.base).To(MatchRegexp(`^gcr\.io/distroless/static(-debian\d+)?(:nonroot(-[a-z0-9]+)?(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$`),
			"the final stage is distroless static, :nonroot or pinned by digest")
		Expect(final.all("run")).To(BeEmpty(), "distroless has no shell: nothing may RUN in the final stage")

		copies := final.all("copy")
		Expect(copies).To(HaveLen(1), "the final image holds only the manager")
		Expect(copies[0].Flags).To(Equal([]string{"--from=builder"}))
		Expect(words(copies[0])).To(Equal([]string{"/manager", "/manager"}))

		users := final.all("user")
		Expect(users).NotTo(BeEmpty())
		Expect(words(users[len(users)-1])).To(Equal([]string{"65532:65532"}), "numeric user and group, so runAsNonRoot can verify it")

		entry := final.all("entrypoint")
		Expect(entry).To(HaveLen(1))
		Expect(entry[0].Attributes).To(HaveKeyWithValue("json", true), "exec form: there is no shell to run a string form")
		Expect(words(entry[0])).To(Equal([]string{"/manager"}))
		Expect(final.all("workdir")).To(ContainElement(WithTransform(words, Equal([]string{"/"}))))
	})

	It("sends the build only what it copies (.dockerignore)", func() {
		data, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
		Expect(err).NotTo(HaveOccurred())
		var patterns []string
		for line := range strings.SplitSeq(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				patterns = append(patterns, line)
			}
		}
		Expect(patterns).NotTo(BeEmpty())
		Expect(patterns[0]).To(Equal("*"), "ignore everything first (bin/, dist/, .git, node_modules), then allow what is copied")
		Expect(patterns).To(ContainElements("!go.mod", "!go.sum", "!api/", "!cmd/", "!internal/"))
		// Everything the builder copies from the context is allowed back in.
		for _, n := range builder.all("copy") {
			if len(n.Flags) > 0 {
				continue
			}
			srcs := words(n)
			for _, src := range srcs[:len(srcs)-1] {
				Expect(patterns).To(ContainElement(SatisfyAll(HavePrefix("!"), HaveSuffix(src))),
					"COPY %s is excluded by .dockerignore", src)
			}
		}
	})
})
