import { runConformance } from "./suite.js";
import { rabbitmqTarget } from "./rabbitmq.target.js";

runConformance(rabbitmqTarget);
