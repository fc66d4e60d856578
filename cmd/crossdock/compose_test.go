package main

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// repoRoot is where docker-compose.yml and the Dockerfile live, seen from
// this package's directory (go test runs in it).
const repoRoot = "../.."

// crossdockCommands are the subcommands each crossdock service of
// docker-compose.yml must run. contract.md, "Configuration and commands other
// tools rely on": crossdock dev | api | worker | sandbox | migrate up |
// migrate status | merchant create | version.
var crossdockCommands = map[string][]string{
	"migrate": {"migrate", "up"},
	"api":     {"api"},
	"worker":  {"worker"},
	"sandbox": {"sandbox"},
}

// contractCommands are the command lines of contract.md that a service may run.
var contractCommands = [][]string{
	{"dev"}, {"api"}, {"worker"}, {"sandbox"}, {"migrate", "up"}, {"migrate", "status"},
	{"merchant", "create"}, {"version"},
}

// searchAttributes are the ones architecture.md ("Temporal design") says are
// registered in docker-compose; types not given there are Keyword, except the
// free-text reason.
var searchAttributes = map[string]string{
	"CrossdockMerchant":       "Keyword",
	"CrossdockStage":          "Keyword",
	"CrossdockCarrier":        "Keyword",
	"CrossdockLane":           "Keyword",
	"CrossdockStuck":          "Bool",
	"CrossdockStuckReason":    "Text",
	"CrossdockActionRequired": "Bool",
}

// composeFile is the part of docker-compose.yml the checks read. The file
// keeps to one syntax per field (environment and depends_on as mappings,
// command as a list, ports as "host:container") so that this stays small.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       string            `yaml:"build"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Restart string `yaml:"restart"`
}

func TestDockerComposeMatchesConfig(t *testing.T) {
	cf := readCompose(t)
	for _, p := range composeProblems(t, cf) {
		t.Error(p)
	}
}

// TestComposeCheckerFlagsMistakes proves composeProblems can fail: each edit
// of the real file below is a mistake it must report.
func TestComposeCheckerFlagsMistakes(t *testing.T) {
	tests := []struct {
		name string
		edit func(cf *composeFile)
		want string
	}{
		{
			name: "a misspelt variable",
			edit: func(cf *composeFile) { cf.Services["worker"].Environment["CROSSDOCK_HTTP_ADRR"] = ":8080" },
			want: "CROSSDOCK_HTTP_ADRR",
		},
		{
			name: "a secret that is not whsec_ base64",
			edit: func(cf *composeFile) {
				cf.Services["api"].Environment["CROSSDOCK_ORDER_WEBHOOK_SECRET"] = "whsec_not-base64!"
			},
			want: "CROSSDOCK_ORDER_WEBHOOK_SECRET",
		},
		{
			name: "a value taken from the host without a default",
			edit: func(cf *composeFile) { cf.Services["api"].Environment["CROSSDOCK_OPS_TOKEN"] = "${OPS_TOKEN}" },
			want: "${OPS_TOKEN}",
		},
		{
			name: "the API listens on a port compose does not publish",
			edit: func(cf *composeFile) {
				setService(cf, "api", func(s *composeService) { s.Ports = []string{"8080:9090"} })
			},
			want: "CROSSDOCK_HTTP_ADDR",
		},
		{
			name: "the sandbox URL names no service",
			edit: func(cf *composeFile) {
				cf.Services["worker"].Environment["CROSSDOCK_SANDBOX_URL"] = "http://sandbx:8090"
			},
			want: `"sandbx"`,
		},
		{
			name: "the database URL does not match the postgres service",
			edit: func(cf *composeFile) {
				cf.Services["migrate"].Environment["CROSSDOCK_DATABASE_URL"] = "postgres://crossdock:secret@postgres:5432/crossdock"
			},
			want: "password",
		},
		{
			name: "the worker starts before the search attributes exist",
			edit: func(cf *composeFile) {
				setService(cf, "worker", func(s *composeService) { delete(s.DependsOn, "temporal-setup") })
			},
			want: "worker must depend on temporal-setup",
		},
		{
			name: "a search attribute is not registered",
			edit: func(cf *composeFile) {
				setService(cf, "temporal-setup", func(s *composeService) {
					s.Command = []string{strings.Replace(strings.Join(s.Command, "\n"), "sa CrossdockLane Keyword", "", 1)}
				})
			},
			want: "CrossdockLane",
		},
		{
			name: "a command the binary does not have",
			edit: func(cf *composeFile) {
				setService(cf, "sandbox", func(s *composeService) { s.Command = []string{"serve"} })
			},
			want: "[serve]",
		},
		{
			name: "a missing service",
			edit: func(cf *composeFile) { delete(cf.Services, "temporal-ui") },
			want: "temporal-ui",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := readCompose(t)
			tt.edit(&cf)
			got := composeProblems(t, cf)
			require.NotEmpty(t, got, "the checker must flag this edit")
			assert.Contains(t, strings.Join(got, "\n"), tt.want)
		})
	}
}

func setService(cf *composeFile, name string, edit func(*composeService)) {
	s := cf.Services[name]
	edit(&s)
	cf.Services[name] = s
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	require.NoError(t, err, "reading docker-compose.yml")
	var cf composeFile
	require.NoError(t, yaml.Unmarshal(raw, &cf), "parsing docker-compose.yml")
	require.NotEmpty(t, cf.Services, "docker-compose.yml has no services")
	return cf
}

// composeProblems returns what is wrong with cf, one message per problem.
// It sets the environment (t.Setenv) to run loadConfig as each crossdock
// service would, so it must not run in parallel tests.
func composeProblems(t *testing.T, cf composeFile) []string {
	t.Helper()
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	required := []string{"postgres", "temporal", "temporal-setup", "temporal-ui", "migrate", "api", "worker", "sandbox"}
	for _, name := range required {
		if _, ok := cf.Services[name]; !ok {
			bad("service %s is missing", name)
		}
	}
	if len(out) > 0 {
		return out
	}

	known := configEnvNames(reflect.TypeFor[Config](), "")
	var crossdock []string
	for name, s := range cf.Services {
		if s.Build != "" {
			crossdock = append(crossdock, name)
		}
	}
	sort.Strings(crossdock)
	if want := slices.Sorted(maps.Keys(crossdockCommands)); !slices.Equal(crossdock, want) {
		bad("the services built from the Dockerfile are %v, want %v", crossdock, want)
	}

	// Resolved environment per crossdock service.
	envs := map[string]map[string]string{}
	for _, name := range crossdock {
		s := cf.Services[name]
		if s.Build != "." {
			bad("%s: build is %q, want the Dockerfile at the repository root (\".\")", name, s.Build)
		}
		if want, ok := crossdockCommands[name]; ok && !slices.Equal(s.Command, want) {
			bad("%s: command is %v, want %v", name, s.Command, want)
		}
		if !slices.ContainsFunc(contractCommands, func(c []string) bool { return slices.Equal(c, s.Command) }) {
			bad("%s: command %v is not a crossdock command of contract.md", name, s.Command)
		}
		root := newRootCommand()
		if cmd, rest, err := root.Find(s.Command); err != nil || cmd == root || len(rest) > 0 || !cmd.Runnable() {
			bad("%s: command %v is not a runnable subcommand of the crossdock binary", name, s.Command)
		}
		env := map[string]string{}
		for k, v := range s.Environment {
			if !known[k] {
				bad("%s: environment variable %s is not read by Config (cmd/crossdock/config.go): a typo?", name, k)
			}
			resolved, err := interpolate(v)
			if err != nil {
				bad("%s: %s: %v", name, k, err)
				continue
			}
			env[k] = resolved
		}
		envs[name] = env

		t.Run("loadConfig/"+name, func(t *testing.T) {
			for k := range known {
				t.Setenv(k, "")
				require.NoError(t, os.Unsetenv(k))
			}
			for k, v := range env {
				t.Setenv(k, v)
			}
			if _, err := loadConfig(); err != nil {
				bad("%s: loadConfig rejects its environment: %v", name, err)
			}
		})
	}

	api, sandbox := envs["api"], envs["sandbox"]
	if api != nil {
		for _, k := range []string{"CROSSDOCK_ORDER_WEBHOOK_SECRET", "CROSSDOCK_OPS_TOKEN", "CROSSDOCK_DATABASE_URL", "TEMPORAL_ADDRESS"} {
			if api[k] == "" {
				bad("api: %s must be set: without it the API cannot verify orders, serve ops or reach its stores", k)
			}
		}
	}
	checkListenPort := func(service, variable string, env map[string]string) {
		if env == nil {
			return
		}
		_, port, err := net.SplitHostPort(env[variable])
		if err != nil {
			bad("%s: %s=%q is not host:port", service, variable, env[variable])
			return
		}
		if !slices.Contains(containerPorts(cf.Services[service]), port) {
			bad("%s: %s listens on port %s but compose publishes container ports %v",
				service, variable, port, containerPorts(cf.Services[service]))
		}
	}
	checkListenPort("api", "CROSSDOCK_HTTP_ADDR", api)
	checkListenPort("sandbox", "CROSSDOCK_SANDBOX_ADDR", sandbox)

	// Every address a crossdock service dials must name a service and a port
	// that service listens on.
	listens := map[string][]string{
		"api":      {portOf(api["CROSSDOCK_HTTP_ADDR"])},
		"sandbox":  {portOf(sandbox["CROSSDOCK_SANDBOX_ADDR"])},
		"temporal": containerPorts(cf.Services["temporal"]),
		"postgres": {"5432"},
	}
	dial := func(service, variable, value, wantHost string) {
		host, port, err := net.SplitHostPort(value)
		if err != nil {
			bad("%s: %s=%q has no host:port", service, variable, value)
			return
		}
		if _, ok := cf.Services[host]; !ok {
			bad("%s: %s names host %q, which is not a service", service, variable, host)
			return
		}
		if host != wantHost {
			bad("%s: %s names %q, want %q", service, variable, host, wantHost)
		}
		if !slices.Contains(listens[host], port) {
			bad("%s: %s dials %s:%s but %s listens on %v", service, variable, host, port, host, listens[host])
		}
	}
	for _, name := range crossdock {
		env := envs[name]
		for _, u := range []struct{ variable, host string }{
			{"CROSSDOCK_SANDBOX_URL", "sandbox"}, {"CROSSDOCK_API_URL", "api"},
		} {
			if env[u.variable] == "" {
				continue
			}
			p, err := url.Parse(env[u.variable])
			if err != nil {
				bad("%s: %s: %v", name, u.variable, err)
				continue
			}
			dial(name, u.variable, p.Host, u.host)
		}
		if env["TEMPORAL_ADDRESS"] != "" {
			dial(name, "TEMPORAL_ADDRESS", env["TEMPORAL_ADDRESS"], "temporal")
		}
		if db := env["CROSSDOCK_DATABASE_URL"]; db != "" {
			p, err := url.Parse(db)
			if err != nil {
				bad("%s: CROSSDOCK_DATABASE_URL: %v", name, err)
				continue
			}
			dial(name, "CROSSDOCK_DATABASE_URL", p.Host, "postgres")
			pg := cf.Services["postgres"].Environment
			password, _ := p.User.Password()
			if p.User.Username() != pg["POSTGRES_USER"] {
				bad("%s: CROSSDOCK_DATABASE_URL user %q is not the postgres service's POSTGRES_USER %q", name, p.User.Username(), pg["POSTGRES_USER"])
			}
			if password != pg["POSTGRES_PASSWORD"] {
				bad("%s: CROSSDOCK_DATABASE_URL password is not the postgres service's POSTGRES_PASSWORD", name)
			}
			if strings.TrimPrefix(p.Path, "/") != pg["POSTGRES_DB"] {
				bad("%s: CROSSDOCK_DATABASE_URL database %q is not the postgres service's POSTGRES_DB %q", name, p.Path, pg["POSTGRES_DB"])
			}
		}
	}
	for _, name := range []string{"temporal-setup", "temporal-ui"} {
		if addr := cf.Services[name].Environment["TEMPORAL_ADDRESS"]; addr != api["TEMPORAL_ADDRESS"] {
			bad("%s: TEMPORAL_ADDRESS=%q differs from the crossdock services' %q", name, addr, api["TEMPORAL_ADDRESS"])
		}
	}

	// Start order.
	for name, s := range cf.Services {
		for dep, d := range s.DependsOn {
			target, ok := cf.Services[dep]
			if !ok {
				bad("%s depends on %s, which is not a service", name, dep)
				continue
			}
			switch d.Condition {
			case "service_started":
			case "service_healthy":
				if target.Healthcheck == nil {
					bad("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
				}
			case "service_completed_successfully":
				if target.Restart != "no" {
					bad("%s waits for %s to complete, but %s has restart %q, want \"no\"", name, dep, dep, target.Restart)
				}
			default:
				bad("%s depends on %s with condition %q", name, dep, d.Condition)
			}
		}
	}
	for _, need := range []struct{ service, dep, condition string }{
		{"temporal", "postgres", "service_healthy"},
		{"temporal-setup", "temporal", "service_healthy"},
		{"migrate", "postgres", "service_healthy"},
		{"api", "migrate", "service_completed_successfully"},
		{"api", "temporal-setup", "service_completed_successfully"},
		{"worker", "migrate", "service_completed_successfully"},
		{"worker", "temporal-setup", "service_completed_successfully"},
	} {
		if got := cf.Services[need.service].DependsOn[need.dep].Condition; got != need.condition {
			bad("%s must depend on %s with condition %s, got %q", need.service, need.dep, need.condition, got)
		}
	}

	// Files mounted from the repository must exist.
	for name, s := range cf.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
					bad("%s mounts %s, which does not exist", name, src)
				}
			}
		}
	}

	out = append(out, searchAttributeProblems(cf.Services["temporal-setup"], api["TEMPORAL_NAMESPACE"])...)
	return out
}

// saLine is one registration in temporal-setup's script: `sa Name Type`.
var saLine = regexp.MustCompile(`(?m)^\s*sa\s+(\S+)\s+(\S+)\s*$`)

func searchAttributeProblems(setup composeService, namespace string) []string {
	var out []string
	script, err := interpolate(strings.Join(setup.Command, "\n"))
	if err != nil {
		return []string{fmt.Sprintf("temporal-setup: command: %v", err)}
	}
	create := fmt.Sprintf(`temporal operator search-attribute create --namespace %s --name "$1" --type "$2"`, namespace)
	if !strings.Contains(script, create) {
		out = append(out, fmt.Sprintf("temporal-setup: its script must run %s (namespace from TEMPORAL_NAMESPACE)", create))
	}
	got := map[string]string{}
	for _, m := range saLine.FindAllStringSubmatch(script, -1) {
		got[m[1]] = m[2]
	}
	for name, typ := range searchAttributes {
		if got[name] != typ {
			out = append(out, fmt.Sprintf("temporal-setup: search attribute %s must be registered as %s, got %q", name, typ, got[name]))
		}
	}
	for name := range got {
		if _, ok := searchAttributes[name]; !ok {
			out = append(out, fmt.Sprintf("temporal-setup: registers %s, which architecture.md does not list", name))
		}
	}
	return out
}

func TestDockerfileBuildsTheBinary(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	require.NoError(t, err)
	df := string(raw)
	assert.Contains(t, df, "CGO_ENABLED=0", "the final image is distroless static: no libc")
	assert.Regexp(t, `go build .*-o /crossdock \./cmd/crossdock`, df)
	assert.Contains(t, df, "FROM gcr.io/distroless/static-debian12:nonroot")
	assert.Contains(t, df, `ENTRYPOINT ["/crossdock"]`, "compose services pass only the subcommand")
}

// configEnvNames returns the variable names Config reads: its env tags,
// following nested structs and their envPrefix.
func configEnvNames(typ reflect.Type, prefix string) map[string]bool {
	names := map[string]bool{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
			names[prefix+name] = true
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			for n := range configEnvNames(f.Type, prefix+f.Tag.Get("envPrefix")) {
				names[n] = true
			}
		}
	}
	return names
}

// interpolate resolves compose's interpolation in a value as compose would
// with none of the variables set: "$$" is "$", "${NAME:-default}" and
// "${NAME-default}" are the default. Any other "$" would read the host's
// environment, which the file must not need.
func interpolate(v string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '$' {
			b.WriteByte(v[i])
			continue
		}
		switch {
		case strings.HasPrefix(v[i:], "$$"):
			b.WriteByte('$')
			i++
		case strings.HasPrefix(v[i:], "${"):
			end := strings.IndexByte(v[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated %q", v[i:])
			}
			expr := v[i+2 : i+end]
			_, def, ok := strings.Cut(expr, "-")
			if !ok {
				return "", fmt.Errorf("%q has no default (write ${NAME:-default}), so compose would need it from the host", "${"+expr+"}")
			}
			b.WriteString(def)
			i += end
		default:
			return "", fmt.Errorf("%q: a bare $ is interpolated by compose; write $$ for a literal $", v)
		}
	}
	return b.String(), nil
}

// containerPorts returns the container side of s's published ports.
func containerPorts(s composeService) []string {
	var out []string
	for _, p := range s.Ports {
		p, _, _ = strings.Cut(p, "/")
		out = append(out, p[strings.LastIndexByte(p, ':')+1:])
	}
	return out
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}
