export {
  CONTENT_TYPE,
  ContractError,
  type DecodeResult,
  decodeMessage,
  type EncodedMessage,
  encodeMessage,
  type MessageInput,
  type MessageOf,
  SCHEMA_HEADER,
  tryDecodeMessage,
} from './codec.ts';
export {
  currency,
  fen,
  type ObservationSource,
  type OrderStatus,
  observationSource,
  orderStatus,
  outTradeNo,
  rfc3339,
  type TradeState,
  tradeState,
} from './common.ts';
export { exampleMessages } from './examples.ts';
export {
  type AlertSeverity,
  type AlertType,
  alertSeverity,
  alertType,
  type DeadLetteredObservation,
  type DlqReason,
  type DomainAlert,
  deadLetteredObservation,
  dlqReason,
  domainAlert,
  type OrderSettled,
  orderSettled,
  type PaymentObservation,
  paymentObservation,
  refundObservation,
} from './messages.ts';
export { ALL_TOPICS, TOPICS, type TopicKey, type TopicName, type TopicNames, topicNames } from './topics.ts';
