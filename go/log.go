package gracefulshutdown

import (
	"os"
	"strings"
	"sync"
	"time"
)

// The library's log lines go to stderr, one write each, which Lambda sends to
// CloudWatch. They follow AWS_LAMBDA_LOG_FORMAT (JSON: one object per line
// with timestamp, level and message, as Lambda's JSON format has them; Text or
// unset: "LEVEL message") and AWS_LAMBDA_LOG_LEVEL (default INFO; warnings
// always pass unless the level is ERROR or FATAL).

type level int

const (
	levelDebug level = iota
	levelInfo
	levelWarn
	levelError
)

var levelNames = [...]string{"DEBUG", "INFO", "WARN", "ERROR"}

type logSettings struct {
	json bool
	min  level
}

var (
	logOnce sync.Once
	logSet  logSettings
)

func logSettingsFrom(format, lvl string) logSettings {
	s := logSettings{json: strings.EqualFold(strings.TrimSpace(format), "JSON"), min: levelInfo}
	switch strings.ToUpper(strings.TrimSpace(lvl)) {
	case "TRACE", "DEBUG":
		s.min = levelDebug
	case "WARN", "WARNING":
		s.min = levelWarn
	case "ERROR", "FATAL":
		s.min = levelError
	}
	return s
}

func settings() logSettings {
	logOnce.Do(func() {
		logSet = logSettingsFrom(os.Getenv("AWS_LAMBDA_LOG_FORMAT"), os.Getenv("AWS_LAMBDA_LOG_LEVEL"))
	})
	return logSet
}

// formatLine is the line written for message at lvl, newline included.
func formatLine(s logSettings, lvl level, message string, now time.Time) []byte {
	if s.json {
		b := make([]byte, 0, len(message)+96)
		b = append(b, `{"timestamp":`...)
		b = appendJSONString(b, now.UTC().Format("2006-01-02T15:04:05.000Z"))
		b = append(b, `,"level":`...)
		b = appendJSONString(b, levelNames[lvl])
		b = append(b, `,"message":`...)
		b = appendJSONString(b, message)
		return append(b, '}', '\n')
	}
	// One line, whatever the message holds.
	flat := strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(message)
	return []byte(levelNames[lvl] + " " + flat + "\n")
}

func logAt(lvl level, message string) {
	s := settings()
	if lvl < s.min {
		return
	}
	// A closed stderr is not the library's problem.
	_, _ = os.Stderr.Write(formatLine(s, lvl, message, time.Now()))
}

func logDebug(message string) { logAt(levelDebug, message) }
func logInfo(message string)  { logAt(levelInfo, message) }
func logWarn(message string)  { logAt(levelWarn, message) }
func logError(message string) { logAt(levelError, message) }
