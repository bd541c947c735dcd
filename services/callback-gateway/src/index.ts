export type { GatewayApp } from './app.ts';
export { type CallbackAnswer, type CallbackDeps, receiveV3Notification } from './callback.ts';
export { receiveV2Notification, type V2CallbackDeps, v2FailReply } from './callback-v2.ts';
export { type GatewayConfig, gatewayEnv, isProduction, loadGatewayConfig } from './config.ts';
export {
  BusyError,
  callbackFailure,
  GatewayError,
  MerchantMismatchError,
  PublishFailedError,
} from './errors.ts';
export { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
export {
  CALLBACK_PATH,
  CALLBACK_V2_PATH,
  checkGatewayNotifyUrl,
  describeNotifyUrlProblems,
  loggableUrl,
} from './notify-url.ts';
export { notificationObservation, v2Observation } from './observation.ts';
export { type ApiResult, createOrder, type OrderDeps, type WeChatOrders } from './orders/create.ts';
export { newOutTradeNo } from './orders/out-trade-no.ts';
export { type ReadDeps, readOrder } from './orders/read.ts';
export { beijingRfc3339, createOrderRequest } from './orders/schema.ts';
export type { ObservationPublisher } from './publisher.ts';
export {
  enforceNotifyUrl,
  enforceTopicDurability,
  NotifyUrlRejectedError,
  TopicNotDurableError,
} from './startup.ts';
