import { runAttributeConformance } from "./attributes.suite.js";
import { rabbitmqTarget } from "./rabbitmq.target.js";

runAttributeConformance(rabbitmqTarget);
