package gracefulshutdown

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// The cold-start check: is the shutdown extension attached? The extension
// writes the per-environment secret file before it registers, and Lambda
// starts extensions before the runtime, so at cold start the file is there
// exactly when the extension is. The check is one small file read.

// maxSecretChars is the longest secret accepted; the extension writes 64 hex characters.
const maxSecretChars = 512

// readSecret reads the secret, or says why the extension looks absent.
func readSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", errors.New(path + " does not exist")
		}
		return "", errors.New(path + " cannot be read: " + causeOf(err))
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxSecretChars+2))
	if err != nil {
		return "", errors.New(path + " cannot be read: " + causeOf(err))
	}
	secret := strings.TrimSpace(string(raw))
	printable := true
	for i := 0; i < len(secret); i++ {
		if secret[i] < 0x21 || secret[i] > 0x7e {
			printable = false
			break
		}
	}
	// The secret goes into a header line: refuse anything that could break it.
	if secret == "" || !printable || len(secret) > maxSecretChars {
		return "", errors.New(path + " does not hold a secret (expected one line of printable text)")
	}
	return secret, nil
}

func causeOf(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// missingWarning is the warning for a missing extension, naming the handlers
// that will not run (the same words as the Rust, Python and Node.js libraries).
func missingWarning(reason string, names []string) string {
	handlers := "(none registered yet)"
	if len(names) > 0 {
		handlers = strings.Join(names, ", ")
	}
	return "graceful-shutdown: the " + ExtensionName + " extension is not attached (" + EnvSecretFile + ": " + reason + "). " +
		"Without a registered extension Lambda sends no SIGTERM: it kills the function without warning, " +
		"so these shutdown handlers will NOT run when the environment is retired: " + handlers + ". " +
		"Fix: attach the " + ExtensionName + " layer to this function (the CDK construct library does it for you; " +
		"without the CDK, `gracefulctl render` prints the SAM, CloudFormation and Terraform snippets), " +
		"and keep " + EnvSecretFile + " the same for the function and the extension. " +
		"The handlers still run on SIGTERM or SIGINT, for example in local runs; nothing is reported."
}

var warnedMissing sync.Once

// warnMissingOnce logs the missing-extension warning once per process;
// whether it was logged by this call.
func warnMissingOnce(reason string, names []string) bool {
	logged := false
	warnedMissing.Do(func() {
		logged = true
		logWarn(missingWarning(reason, names))
	})
	return logged
}
