package gracefulshutdown

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The contract as vectors (spec/vectors/, written by the Rust code that
// defines them): the same report bytes, cuts, hello splits and settings with
// their exact messages as every other library. Go sends no `worker` (its
// handlers run in one process), so the cases with a worker are not its.

func readVectors(t *testing.T, name string, into any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "spec", "vectors", name))
	if err != nil {
		t.Fatalf("read spec/vectors/%s: %v", name, err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatalf("spec/vectors/%s: %v", name, err)
	}
}

func reportFrom(t *testing.T, fields map[string]any) report {
	t.Helper()
	str := func(k string) string { s, _ := fields[k].(string); return s }
	num := func(k string) int64 { n, _ := fields[k].(float64); return int64(n) }
	switch kind := str("type"); kind {
	case kindHello:
		var names []string
		for _, n := range fields["handlers"].([]any) {
			names = append(names, n.(string))
		}
		concurrent, _ := fields["concurrent"].(bool)
		return helloReport(int(num("pid")), names, num("timeoutMs"), concurrent, int(num("firstIndex")))
	case kindShutdownStarted:
		return shutdownStartedReport(str("signal"))
	case kindStarted:
		return startedReport(str("handler"), int(num("index")))
	case kindFinished:
		return finishedReport(str("handler"), int(num("index")), num("durationMs"))
	case kindFailed:
		return failedReport(str("handler"), int(num("index")), num("durationMs"), str("error"))
	case kindTimedOut:
		return timedOutReport(str("handler"), int(num("index")), num("durationMs"))
	case kindAllDone:
		return allDoneReport(int(num("completed")), int(num("failed")), int(num("timedOut")), num("totalMs"))
	default:
		t.Fatalf("unknown report type %q", kind)
		return report{}
	}
}

func TestSpecVectorsReports(t *testing.T) {
	var v struct {
		Port   int    `json:"port"`
		Secret string `json:"secret"`
		Cases  []struct {
			Report  map[string]any `json:"report"`
			Worker  *string        `json:"worker"`
			Body    string         `json:"body"`
			Request string         `json:"request"`
		} `json:"cases"`
	}
	readVectors(t, "reports.json", &v)
	n := 0
	for _, c := range v.Cases {
		if c.Worker != nil {
			continue
		}
		n++
		r := reportFrom(t, c.Report)
		if got := string(r.json()); got != c.Body {
			t.Errorf("body:\ngot  %s\nwant %s", got, c.Body)
		}
		if got := string(encodeRequest(v.Port, v.Secret, r)); got != c.Request {
			t.Errorf("request:\ngot  %q\nwant %q", got, c.Request)
		}
	}
	if n < 7 {
		t.Fatalf("only %d report vectors without a worker", n)
	}
}

func TestSpecVectorsFit(t *testing.T) {
	var v struct {
		Cases []struct {
			Text string  `json:"text"`
			Cuts [][]any `json:"cuts"`
		} `json:"cases"`
	}
	readVectors(t, "fit.json", &v)
	for _, c := range v.Cases {
		for _, cut := range c.Cuts {
			max, want := int(cut[0].(float64)), cut[1].(string)
			if got := fit(c.Text, max); got != want {
				t.Errorf("fit(%q, %d) = %q, want %q", c.Text, max, got, want)
			}
		}
	}
}

func TestSpecVectorsHello(t *testing.T) {
	var v struct {
		Cases []struct {
			Names      []string `json:"names"`
			Pid        int      `json:"pid"`
			TimeoutMs  int64    `json:"timeoutMs"`
			Concurrent bool     `json:"concurrent"`
			Worker     *string  `json:"worker"`
			Hellos     []string `json:"hellos"`
		} `json:"cases"`
	}
	readVectors(t, "hello.json", &v)
	for i, c := range v.Cases {
		if c.Worker != nil {
			continue
		}
		var got []string
		for _, h := range helloReports(c.Pid, c.Names, c.TimeoutMs, c.Concurrent) {
			got = append(got, string(h.json()))
		}
		if !slices.Equal(got, c.Hellos) {
			t.Errorf("case %d: got %d hellos, want %d:\n%q\n%q", i, len(got), len(c.Hellos), got, c.Hellos)
		}
	}
}

func TestSpecVectorsSettings(t *testing.T) {
	var v struct {
		Library []struct {
			Env        map[string]string `json:"env"`
			Port       int               `json:"port"`
			TimeoutMs  int64             `json:"timeoutMs"`
			SecretFile string            `json:"secretFile"`
			Problems   []string          `json:"problems"`
		} `json:"library"`
		Values []struct {
			Variable string `json:"variable"`
			Value    string `json:"value"`
			Accepted *int   `json:"accepted"`
			Error    string `json:"error"`
		} `json:"values"`
	}
	readVectors(t, "settings.json", &v)
	for _, c := range v.Library {
		config, problems := ConfigFromLookup(func(name string) (string, bool) { s, ok := c.Env[name]; return s, ok })
		want := Config{Port: c.Port, Timeout: time.Duration(c.TimeoutMs) * time.Millisecond, SecretFile: c.SecretFile}
		if config != want {
			t.Errorf("%q: %+v, want %+v", c.Env, config, want)
		}
		got := []string{}
		for _, p := range problems {
			got = append(got, p.String())
		}
		if !slices.Equal(got, append([]string{}, c.Problems...)) {
			t.Errorf("%q: problems\n%q\nwant\n%q", c.Env, got, c.Problems)
		}
	}
	for _, c := range v.Values {
		var n int
		var err *ConfigError
		switch c.Variable {
		case EnvPort:
			n, err = ParsePort(c.Value)
		case EnvTimeoutMs:
			n, err = ParseTimeoutMs(c.Value)
		default:
			continue
		}
		switch {
		case c.Accepted != nil && (err != nil || n != *c.Accepted):
			t.Errorf("%s=%q: got %d, %v; want %d", c.Variable, c.Value, n, err, *c.Accepted)
		case c.Accepted == nil && (err == nil || err.Error() != c.Error):
			t.Errorf("%s=%q: got %v; want %s", c.Variable, c.Value, err, c.Error)
		}
	}
}
