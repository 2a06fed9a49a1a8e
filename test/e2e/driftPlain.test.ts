// Drift in a stack without `options: refresh: always`, as a stack that
// installs the package and sets no option: a plain preview and up see it
// through the providers' diff. See test/helpers/driftSuite.ts.

import { driftSuite } from "../helpers/driftSuite";

driftSuite("no refresh option");
