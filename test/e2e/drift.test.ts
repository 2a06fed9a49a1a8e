// Drift in a stack with the project's `options: refresh: always` (Pulumi.yaml):
// see test/helpers/driftSuite.ts.

import { driftSuite } from "../helpers/driftSuite";

driftSuite("refresh: always");
