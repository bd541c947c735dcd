export { type DingtalkMessage, type DingtalkReceiver, startDingtalkReceiver } from './dingtalk.ts';
export { type Fault, startHttpReceiver } from './http-receiver.ts';
export { type ReceivedMail, type SmtpReceiver, startSmtpReceiver } from './smtp.ts';
export { startWecomReceiver, type WecomMessage, type WecomReceiver } from './wecom.ts';
