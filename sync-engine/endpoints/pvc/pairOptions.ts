import { TetherError } from '../../errors.js';

/** The `tether pair add` flags of pvc:// remotes (commander's camel-cased names). */
export interface PvcFlags {
  readonly kubeconfig?: string;
  readonly helperImage?: string;
  readonly pod?: string;
  readonly execProtocol?: string;
}

/** The pair options those flags store (read back by `pvcOptionsFrom`); no secrets: credentials stay in the kubeconfig. */
export function pvcPairOptions(flags: PvcFlags): Record<string, string> {
  if (flags.execProtocol !== undefined && flags.execProtocol !== 'auto' && flags.execProtocol !== 'v4')
    throw new TetherError('bad-argument', `--exec-protocol must be auto or v4, not "${flags.execProtocol}"`);
  return {
    ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
    ...(flags.helperImage === undefined ? {} : { helperImage: flags.helperImage }),
    ...(flags.pod === undefined ? {} : { pod: flags.pod }),
    ...(flags.execProtocol === undefined || flags.execProtocol === 'auto' ? {} : { execProtocol: flags.execProtocol }),
  };
}
