package plugin

import "os"

// terminate stops a local run; Windows has no SIGTERM to send.
var terminate = os.Kill
