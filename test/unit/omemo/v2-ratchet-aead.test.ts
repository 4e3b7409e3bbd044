import { OMEMO_2_RATCHET_CONFIG } from '../../../omemo/versions/v2/profile.js';
import { authenticatedMessageToRatchetMessage } from '../../../omemo/versions/v2/ratchet-aead.js';
import { ratchetAeadSuite } from './ratchet-aead-suite.js';

describe('omemo/versions/v2/ratchet-aead (OMEMOAuthenticatedMessage, HMAC/16 over AD||OMEMOMessage)', () => {
  ratchetAeadSuite('2', OMEMO_2_RATCHET_CONFIG, authenticatedMessageToRatchetMessage);
});
