import { OMEMO_03_RATCHET_CONFIG } from '../../../omemo/versions/v03/profile.js';
import { signalMessageToRatchetMessage } from '../../../omemo/versions/v03/ratchet-aead.js';
import { ratchetAeadSuite } from './ratchet-aead-suite.js';

describe('omemo/versions/v03/ratchet-aead (SignalMessage, HMAC/8 over senderIK||receiverIK||0x33||protobuf)', () => {
  ratchetAeadSuite('0.3', OMEMO_03_RATCHET_CONFIG, signalMessageToRatchetMessage);
});
