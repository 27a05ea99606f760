// The Probot entry point (`probot run ./dist/src/index.js`).
import { createApp } from "./app/index.js";

export default createApp();
