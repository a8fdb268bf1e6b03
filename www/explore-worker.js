// The explorer off the main thread: one search per message, progress after
// each level. The page cancels a search by terminating the worker.
import init, { showMeHow } from './pkg/raftplay.js';

const ready = init();

self.onmessage = async ({ data }) => {
  await ready;
  try {
    const onLevel = progress => { self.postMessage({ progress }); return true; };
    const plan = showMeHow(data.options, data.bug, data.depth, data.maxStates, onLevel);
    self.postMessage({ plan });
  } catch (e) {
    self.postMessage({ error: e.message });
  }
};
