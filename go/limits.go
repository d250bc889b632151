package gracefulshutdown

import (
	_ "embed"
	"encoding/json"
	"time"
)

// limitsJSON is a byte-for-byte copy of the repository's spec/limits.json,
// the one source of the names, defaults and limits both sides use (a test,
// TestLimitsFileIsTheSpec, keeps it identical). Embedded so that nothing is
// written down here by hand.
//
//go:embed limits.json
var limitsJSON []byte

type specLimits struct {
	ExtensionName string `json:"extensionName"`
	Env           struct {
		Port       string `json:"port"`
		TimeoutMs  string `json:"timeoutMs"`
		SecretFile string `json:"secretFile"`
		Metrics    string `json:"metrics"`
	} `json:"env"`
	Port struct {
		Default  int `json:"default"`
		Min      int `json:"min"`
		Max      int `json:"max"`
		Reserved []struct {
			Port   int    `json:"port"`
			UsedBy string `json:"usedBy"`
		} `json:"reserved"`
	} `json:"port"`
	TimeoutMs struct {
		Default int `json:"default"`
		Min     int `json:"min"`
		Max     int `json:"max"`
	} `json:"timeoutMs"`
	Shutdown struct {
		RuntimeShareMs       int `json:"runtimeShareMs"`
		RuntimeExitReserveMs int `json:"runtimeExitReserveMs"`
		PhaseMs              int `json:"phaseMs"`
	} `json:"shutdown"`
	Library struct {
		KillMarginMs           int `json:"killMarginMs"`
		FlushLimitMs           int `json:"flushLimitMs"`
		WatchdogGraceMs        int `json:"watchdogGraceMs"`
		ReportConnectTimeoutMs int `json:"reportConnectTimeoutMs"`
		ReportIoTimeoutMs      int `json:"reportIoTimeoutMs"`
		ReportNowTimeoutMs     int `json:"reportNowTimeoutMs"`
		HandoffTimeoutMs       int `json:"handoffTimeoutMs"`
	} `json:"library"`
	SecretFileDefault string `json:"secretFileDefault"`
	ReportPath        string `json:"reportPath"`
	SecretHeader      string `json:"secretHeader"`
	MaxReportBytes    int    `json:"maxReportBytes"`
	MaxNameBytes      int    `json:"maxNameBytes"`
	MaxErrorBytes     int    `json:"maxErrorBytes"`
	Handoff           struct {
		Path         string `json:"path"`
		MaxBodyBytes int    `json:"maxBodyBytes"`
	} `json:"handoff"`
}

// spec is the parsed limits file. A file that does not parse is a build
// defect that every test catches, so it panics at package init.
var spec = parseLimits(limitsJSON)

func parseLimits(raw []byte) specLimits {
	var l specLimits
	if err := json.Unmarshal(raw, &l); err != nil {
		panic("gracefulshutdown: the embedded limits.json does not parse: " + err.Error())
	}
	return l
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// The settings' names and defaults, from spec/limits.json.
var (
	// ExtensionName is the shutdown extension's name (its file under /opt/extensions).
	ExtensionName = spec.ExtensionName
	// EnvPort names the variable of the extension's loopback port.
	EnvPort = spec.Env.Port
	// EnvTimeoutMs names the variable of the handlers' budget in milliseconds.
	EnvTimeoutMs = spec.Env.TimeoutMs
	// EnvSecretFile names the variable of the per-environment secret's file.
	EnvSecretFile = spec.Env.SecretFile
	// DefaultPort is the extension's port when EnvPort is unset.
	DefaultPort = spec.Port.Default
	// DefaultTimeout is the handlers' budget when EnvTimeoutMs is unset.
	DefaultTimeout = ms(spec.TimeoutMs.Default)
	// DefaultSecretFile is the secret's file when EnvSecretFile is unset.
	DefaultSecretFile = spec.SecretFileDefault
)

var (
	maxReportBytes = spec.MaxReportBytes
	maxNameBytes   = spec.MaxNameBytes
	maxErrorBytes  = spec.MaxErrorBytes
	runtimeShare   = ms(spec.Shutdown.RuntimeShareMs)
	killMargin     = ms(spec.Library.KillMarginMs)
	flushLimit     = ms(spec.Library.FlushLimitMs)
	watchdogGrace  = ms(spec.Library.WatchdogGraceMs)
	connectTimeout = ms(spec.Library.ReportConnectTimeoutMs)
	ioTimeout      = ms(spec.Library.ReportIoTimeoutMs)
	nowTimeout     = ms(spec.Library.ReportNowTimeoutMs)
	handoffTimeout = ms(spec.Library.HandoffTimeoutMs)
	handoffPath    = spec.Handoff.Path
	maxHandoffBody = spec.Handoff.MaxBodyBytes
)

// reservedBy says which Lambda component already uses port, if any.
func reservedBy(port int) (string, bool) {
	for _, r := range spec.Port.Reserved {
		if r.Port == port {
			return r.UsedBy, true
		}
	}
	return "", false
}
